import { fail, ok, type Result } from '../errors.js';

/**
 * OpenNebula's NAME rule for pool objects (`PoolObjectSQL::name_is_valid`): not empty, none of
 * `& | : \ " ; / ' # { } $ < >`, at most 128 characters. Shared by images, datastores, hosts and
 * clusters (it belongs with `domain/object.ts`; it lives here until that file grows a home for it).
 */
export const INVALID_NAME_CHARS = '&|:\\";/\'#{}$<>';
export const MAX_NAME_LENGTH = 128;

export function validateObjectName(name: string | undefined, extraInvalid = ''): Result<string> {
  if (name === undefined || name === '') {
    return fail('TEMPLATE_INVALID', 'Invalid NAME, it cannot be empty', 'NAME');
  }
  const invalid = INVALID_NAME_CHARS + extraInvalid;
  for (const ch of name) {
    if (invalid.includes(ch)) {
      return fail('TEMPLATE_INVALID', `Invalid NAME, char '${ch}' is not allowed`, 'NAME');
    }
  }
  if (name.length > MAX_NAME_LENGTH) {
    return fail('TEMPLATE_INVALID', `Invalid NAME, max length is ${MAX_NAME_LENGTH} chars`, 'NAME');
  }
  return ok(name);
}
