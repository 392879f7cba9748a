// The port lives with the domain (core); adapters import it from here too.
export * from '../core/payment-port';
