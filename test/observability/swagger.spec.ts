// Issue 15: nestjs-service-auth/swagger: the security schemes in the document, and the requirement on
// protected routes only (@Public() routes show none), on both adapters.
import { Controller, Delete, Get, Post } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { AllowServices, InvalidOptionError, Public } from '../../lib/index.js';
import {
  addServiceAuthSecurity,
  ApiServiceAuth,
  SERVICE_AUTH_SECURITY_SCHEMES as S,
  type OpenApiSignatureScheme,
} from '../../lib/swagger/index.js';
import { ADAPTERS, createTestApp, type AdapterName } from '../support/test-app.js';

@ApiServiceAuth({ schemes: ['v1', 'rfc9421'] })
@Controller('orders')
class OrdersController {
  @Get()
  list() {
    return [];
  }

  @Public()
  @Get('catalogue')
  catalogue() {
    return [];
  }

  @AllowServices('billing')
  @Delete(':id')
  remove() {
    return {};
  }
}

@ApiServiceAuth({ schemes: ['v1', 'rfc9421'] })
@Public()
@Controller('open')
class OpenController {
  @Get()
  open() {
    return {};
  }

  @AllowServices('billing')
  @Post()
  restricted() {
    return {};
  }
}

@Controller('mixed')
class MixedController {
  @ApiServiceAuth({ schemes: ['v1', 'rfc9421'] })
  @Get('signed')
  signed() {
    return {};
  }

  @Get('undocumented')
  undocumented() {
    return {};
  }
}

async function documentOf(adapter: AdapterName, schemes: OpenApiSignatureScheme[]): Promise<OpenAPIObject> {
  const t = await createTestApp({ adapter, controllers: [OrdersController, OpenController, MixedController] });
  try {
    const config = addServiceAuthSecurity(new DocumentBuilder().setTitle('billing').setVersion('1'), { schemes }).build();
    return SwaggerModule.createDocument(t.app, config);
  } finally {
    await t.close();
  }
}

const V1 = { [S.apiKey]: [], [S.timestamp]: [], [S.nonce]: [], [S.signature]: [] };
const RFC9421 = { [S.signatureInput]: [], [S.rfc9421Signature]: [] };

describe.each(ADAPTERS)('OpenAPI document (%s)', (adapter) => {
  let document: OpenAPIObject;
  beforeAll(async () => {
    document = await documentOf(adapter, ['v1', 'rfc9421']);
  });

  it('has one apiKey scheme per header of the accepted schemes', () => {
    const schemes = document.components?.securitySchemes ?? {};
    expect(
      Object.fromEntries(
        Object.entries(schemes).map(([name, s]) => [name, { type: (s as any).type, in: (s as any).in, name: (s as any).name }]),
      ),
    ).toEqual({
      [S.apiKey]: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      [S.timestamp]: { type: 'apiKey', in: 'header', name: 'X-API-Timestamp' },
      [S.nonce]: { type: 'apiKey', in: 'header', name: 'X-API-Nonce' },
      [S.signature]: { type: 'apiKey', in: 'header', name: 'X-API-Signature' },
      [S.signatureInput]: { type: 'apiKey', in: 'header', name: 'Signature-Input' },
      [S.rfc9421Signature]: { type: 'apiKey', in: 'header', name: 'Signature' },
    });
  });

  it('requires them (v1 or RFC 9421) on protected routes only', () => {
    const security = (path: string, method: string) => (document.paths[path] as any)?.[method]?.security;
    const both = [V1, RFC9421];
    expect({
      'GET /orders': security('/orders', 'get'),
      'GET /orders/catalogue (@Public)': security('/orders/catalogue', 'get'),
      'DELETE /orders/{id} (@AllowServices)': security('/orders/{id}', 'delete'),
      'GET /open (@Public controller)': security('/open', 'get'),
      'POST /open (@AllowServices in a @Public controller)': security('/open', 'post'),
      'GET /mixed/signed (method)': security('/mixed/signed', 'get'),
      'GET /mixed/undocumented (not marked)': security('/mixed/undocumented', 'get'),
    }).toEqual({
      'GET /orders': both,
      'GET /orders/catalogue (@Public)': undefined,
      'DELETE /orders/{id} (@AllowServices)': both,
      'GET /open (@Public controller)': undefined,
      'POST /open (@AllowServices in a @Public controller)': both,
      'GET /mixed/signed (method)': both,
      'GET /mixed/undocumented (not marked)': undefined,
    });
    // Every requirement names a scheme the document defines.
    const defined = new Set(Object.keys(document.components?.securitySchemes ?? {}));
    for (const item of Object.values(document.paths)) {
      for (const operation of Object.values(item as Record<string, { security?: Record<string, unknown>[] }>)) {
        for (const requirement of operation.security ?? []) for (const name of Object.keys(requirement)) expect(defined).toContain(name);
      }
    }
  });
});

describe('OpenAPI helpers', () => {
  it('v1 alone adds no RFC 9421 headers; v0 needs no nonce', () => {
    const only = (schemes: OpenApiSignatureScheme[]) =>
      Object.keys(addServiceAuthSecurity(new DocumentBuilder(), { schemes }).build().components?.securitySchemes ?? {}).sort();
    expect(only(['v1'])).toEqual([S.apiKey, S.nonce, S.signature, S.timestamp].sort());
    expect(only(['v0'])).toEqual([S.apiKey, S.signature, S.timestamp].sort());
    expect(only(['rfc9421'])).toEqual([S.rfc9421Signature, S.signatureInput].sort());
    const defaults = Object.keys(addServiceAuthSecurity(new DocumentBuilder()).build().components?.securitySchemes ?? {}).sort();
    expect(defaults).toEqual(only(['v1']));
  });

  it('refuses an unknown scheme', () => {
    expect(() => addServiceAuthSecurity(new DocumentBuilder(), { schemes: ['v2' as never] })).toThrow(InvalidOptionError);
    expect(() => ApiServiceAuth({ schemes: [] })).toThrow(/must list 'v1', 'v0' and\/or 'rfc9421'/);
  });
});
