// Package account is the emulator's model of a Cloudflare account as the
// API sees it: its state (scripts and their versions, deployments, secrets
// and settings, Durable Object namespaces, static assets, the workers.dev
// subdomain, R2, API tokens, Access, Containers and registry credentials)
// and the rules that change it, as methods that take their inputs
// decoded and answer a value or an *Error carrying Cloudflare's status,
// code and message. A refused change changes nothing. It knows nothing of
// HTTP requests or of the deployed Worker; package cfemu serves it.
package account
