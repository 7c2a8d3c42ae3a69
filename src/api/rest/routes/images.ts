import { Readable } from 'node:stream';
import { ImageService } from '../../../controller/images.js';
import { templateFromInput } from '../../../controller/template-input.js';
import { NimbusError } from '../../../domain/errors.js';
import type { ImageRecord } from '../../../domain/image/index.js';
import { Created, Done, ErrorBody, IdParams } from '../../../protocol/common.js';
import {
  ImageChtype,
  ImageClone,
  ImageCreate,
  ImageListQuery,
  ImageUploadQuery,
} from '../../../protocol/images.js';
import { imageBody } from '../../bodies/image.js';
import type { RestApp, RestDeps } from '../app.js';
import { errorBody } from '../errors.js';
import { callerOf } from '../request-context.js';
import { registerOwnedRoutes } from './owned.js';

const tags = ['images'];

function isRequestStream(body: unknown): body is Readable {
  return body instanceof Readable;
}

export function registerImageRoutes(app: RestApp, { ctx }: RestDeps): void {
  const images = new ImageService(ctx);

  const render = async (list: readonly ImageRecord[]): Promise<Record<string, unknown>[]> => {
    const datastores = await images.datastoreNames();
    return list.map((image) =>
      imageBody(image, ctx.names, {
        datastoreName: datastores.get(image.datastoreId) ?? '',
        progress: images.progress(image.id),
      }),
    );
  };

  app.post(
    '/api/v1/images',
    {
      schema: {
        tags,
        summary: 'Register an image: PATH (local file), SOURCE, or an empty disk of SIZE MB',
        body: ImageCreate,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const id = await images.create(callerOf(request), {
        template: templateFromInput(request.body.template),
        datastore: request.body.datastore,
        noCapacityCheck: request.body.no_capacity_check,
      });
      return reply.status(201).send({ ID: id });
    },
  );

  app.post(
    '/api/v1/images/upload',
    {
      schema: {
        tags,
        summary: 'Upload an image (application/octet-stream body); answers when it is READY',
        querystring: ImageUploadQuery,
        response: { 201: Created, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const header = request.headers['content-length'];
      const length = header !== undefined && /^\d+$/.test(header) ? Number(header) : query.size;
      try {
        if (!isRequestStream(request.body)) {
          throw new NimbusError(
            'UNSUPPORTED_MEDIA_TYPE',
            'send the image as the request body with Content-Type: application/octet-stream',
          );
        }
        const id = await images.upload(callerOf(request), {
          datastore: query.datastore,
          name: query.name,
          type: query.type,
          persistent: query.persistent,
          description: query.description,
          format: query.format,
          devPrefix: query.dev_prefix,
          length,
          // Stopping early must not reset the connection: the error answer still has to go out.
          body: request.body.iterator({ destroyOnReturn: false }),
        });
        return reply.status(201).send({ ID: id });
      } catch (error) {
        // Do not read the rest of a refused upload: close the connection after the answer.
        void reply.header('connection', 'close');
        if (error instanceof NimbusError && error.code === 'IMAGE_CANCELLED') {
          return reply.status(409).send(errorBody(error));
        }
        throw error;
      }
    },
  );

  app.get(
    '/api/v1/images',
    { schema: { tags, summary: 'List images', querystring: ImageListQuery } },
    async (request) => {
      const page = await images.list(callerOf(request), request.query);
      const body: Record<string, unknown> = { IMAGE_POOL: { IMAGE: await render(page.items) } };
      if (request.query.limit !== undefined) body.next_after = page.nextAfterId;
      return body;
    },
  );

  app.get(
    '/api/v1/images/:id',
    { schema: { tags, summary: 'Show an image (PROGRESS while it is being copied)', params: IdParams } },
    async (request) => {
      const image = await images.get(callerOf(request), request.params.id);
      return { IMAGE: (await render([image]))[0] };
    },
  );

  registerOwnedRoutes(app, {
    collection: 'images',
    tags,
    template: {
      summary: 'Replace or merge the image template',
      run: (caller, id, template, merge) => images.updateTemplate(caller, id, template, merge),
    },
    rename: { summary: 'Rename an image', run: (caller, id, name) => images.rename(caller, id, name) },
    chown: {
      summary: 'Change owner and/or group',
      run: (caller, id, owner) => images.chown(caller, id, owner),
    },
    chmod: { summary: 'Change permissions', run: (caller, id, octet) => images.chmod(caller, id, octet) },
  });

  app.post(
    '/api/v1/images/:id/clone',
    {
      schema: {
        tags,
        summary: 'Clone an image (the copy is LOCKED until its bytes are copied)',
        params: IdParams,
        body: ImageClone,
        response: { 201: Created },
      },
    },
    async (request, reply) => {
      const id = await images.clone(callerOf(request), request.params.id, request.body);
      return reply.status(201).send({ ID: id });
    },
  );

  app.post(
    '/api/v1/images/:id/chtype',
    {
      schema: {
        tags,
        summary: 'Change the image type',
        params: IdParams,
        body: ImageChtype,
        response: { 200: Done },
      },
    },
    async (request) => {
      await images.changeType(callerOf(request), request.params.id, request.body.type);
      return { ID: request.params.id };
    },
  );

  const actions: readonly [
    string,
    string,
    (caller: ReturnType<typeof callerOf>, id: number) => Promise<void>,
  ][] = [
    ['enable', 'Enable an image (DISABLED or ERROR → READY)', (c, id) => images.enable(c, id, true)],
    ['disable', 'Disable an image (READY or ERROR → DISABLED)', (c, id) => images.enable(c, id, false)],
    ['persistent', 'Make an image persistent', (c, id) => images.setPersistent(c, id, true)],
    ['nonpersistent', 'Make an image non-persistent', (c, id) => images.setPersistent(c, id, false)],
  ];
  for (const [verb, summary, act] of actions) {
    app.post(
      `/api/v1/images/:id/${verb}`,
      { schema: { tags, summary, params: IdParams, response: { 200: Done } } },
      async (request) => {
        await act(callerOf(request), request.params.id);
        return { ID: request.params.id };
      },
    );
  }

  app.delete(
    '/api/v1/images/:id',
    {
      schema: {
        tags,
        summary: 'Delete an image and its file (cancels a copy in progress)',
        params: IdParams,
        response: { 200: Done },
      },
    },
    async (request) => {
      await images.delete(callerOf(request), request.params.id);
      return { ID: request.params.id };
    },
  );
}
