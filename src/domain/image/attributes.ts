import type { Template, TemplateValue } from '../template/types.js';

/**
 * Tiny template accessors for the image rules. They read and write single (string) attributes
 * only; the template parser owns everything else.
 */

/** First value of a single attribute, or undefined when absent or a vector. */
export function singleAttr(template: Template, name: string): string | undefined {
  const first = template[name]?.[0];
  return typeof first === 'string' ? first : undefined;
}

/** A copy of the template with NAME set to exactly one value. */
export function withAttr(template: Template, name: string, value: TemplateValue): Template {
  return { ...template, [name]: [value] };
}

export function withoutAttr(template: Template, name: string): Template {
  if (!(name in template)) return template;
  const copy: Record<string, readonly TemplateValue[]> = { ...template };
  delete copy[name];
  return copy;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * C `ctime()` without the newline, as OpenNebula's `one_util::log_time()` prints it:
 * `Wed Jun  3 21:49:08 2026`. Nimbus prints UTC so the text does not depend on the host's zone.
 */
export function ctime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}

/** `PoolObjectSQL::set_template_error_message` value: `"<ctime> : <message>"`. */
export function stampedMessage(now: number, message: string): string {
  return `${ctime(now)} : ${message}`;
}

/**
 * OpenNebula appends a driver's output to an error only when it is non-empty and does not start
 * with '-' (drivers print `-` for "no message").
 */
export function withDriverMessage(message: string, driverMessage: string): string {
  const info = driverMessage.trim();
  return info !== '' && !info.startsWith('-') ? `${message}: ${info}` : message;
}
