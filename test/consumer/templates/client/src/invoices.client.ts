import { Injectable } from '@nestjs/common';
import { SigningService } from 'nestjs-service-auth/client';

/** Calls the invoices service; every request is signed by SigningService. */
@Injectable()
export class InvoicesClient {
  constructor(private readonly signing: SigningService) {}

  async get(id: string): Promise<{ status: number; body: unknown }> {
    const response = await this.signing.fetch(`${process.env.INVOICES_URL}/invoices/${encodeURIComponent(id)}`);
    return { status: response.status, body: await response.json() };
  }
}
