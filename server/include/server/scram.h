/*
 * server/scram.h — the server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as
 * PostgreSQL runs it inside SASL authentication, against verifiers stored in
 * PostgreSQL's format "SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey
 * b64>:<ServerKey b64>". No channel binding (gs2 header "n,," or "y,,";
 * "p=..." is refused). Passwords are never seen by the server.
 *
 *   client-first  "n,,n=,r=<cnonce>"                  -> srv_scram_first
 *   server-first  "r=<cnonce><snonce>,s=<salt>,i=<n>" <-
 *   client-final  "c=biws,r=<nonce>,p=<proof b64>"    -> srv_scram_final
 *   server-final  "v=<ServerSignature b64>"            <-
 *
 * An unknown role or a role without a password still runs the whole
 * exchange against a made-up verifier (salted from the role name and a
 * per-process secret, like PostgreSQL's mock authentication), so the client
 * cannot tell which roles exist; it fails at srv_scram_final.
 *
 * Messages are parsed strictly: gs2 header "n,," or "y,," (no authzid),
 * attributes in RFC order, no extensions, the client's username attribute
 * read but ignored (PostgreSQL authenticates the startup packet's user),
 * exact nonce, channel binding data matching the gs2 header, base64 proof
 * of 32 bytes. Any deviation is PROTO. An exchange runs once: after
 * srv_scram_final, or after any error, every further call is PROTO.
 */
#ifndef SERVER_SCRAM_H
#define SERVER_SCRAM_H

#include <stddef.h>

#include "base/err.h"

typedef struct srv_scram srv_scram;

/*
 * Begins an exchange for role (borrowed) whose stored verifier is verifier
 * (borrowed; NULL or not a valid verifier: mock exchange that always fails).
 * Errors: NOMEM.
 */
cc_code srv_scram_new(const char *role, const char *verifier, srv_scram **out, cc_err *err);

/*
 * For tests: as srv_scram_new, with the server nonce fixed to nonce
 * (borrowed; printable ASCII without ',', at most 64 bytes) instead of 18
 * random bytes in base64, so known exchanges such as RFC 7677's can be
 * replayed. Errors: INVALID (bad nonce), NOMEM.
 */
cc_code srv_scram_new_with_nonce(const char *role, const char *verifier, const char *nonce,
                                 srv_scram **out, cc_err *err);

/* Frees s (may be NULL) and wipes its keys. */
void srv_scram_free(srv_scram *s);

/*
 * Takes the client-first message (msg, n bytes, not NUL-terminated) and
 * returns the server-first message in *out (new, NUL-terminated, cc_free).
 * Errors: PROTO (08P01: malformed message, channel binding requested).
 */
cc_code srv_scram_first(srv_scram *s, const char *msg, size_t n, char **out, cc_err *err);

/*
 * Takes the client-final message and checks the proof. On success returns
 * the server-final message in *out (new, cc_free). Errors: PROTO (08P01:
 * malformed, wrong nonce or channel binding), PERMISSION (28P01: wrong
 * password, or a mock exchange).
 */
cc_code srv_scram_final(srv_scram *s, const char *msg, size_t n, char **out, cc_err *err);

#endif
