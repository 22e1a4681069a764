import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from '../api-key-auth.constants.js';

/** Marks a route or controller as open: `ApiKeyGuard` lets it through unauthenticated. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);
