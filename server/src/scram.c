/*
 * server/src/scram.c — the server side of SCRAM-SHA-256 (RFC 5802, RFC 7677)
 * as PostgreSQL runs it in SASL authentication (see server/scram.h).
 *
 *   StoredKey, ServerKey, salt, iterations   from the verifier
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientSignature = HMAC(StoredKey, AuthMessage)
 *   ClientKey       = ClientProof XOR ClientSignature
 *   accepted iff      SHA-256(ClientKey) == StoredKey   (constant-time compare)
 *   ServerSignature = HMAC(ServerKey, AuthMessage)      -> "v=" base64
 *
 * Messages arrive with a length and no terminating NUL; every parse step
 * checks the remaining length before it reads, and a NUL byte inside a
 * message is malformed. An exchange is a three-state machine
 * (WANT_FIRST -> WANT_FINAL -> DONE); any error moves it to DONE.
 *
 * Mock exchanges (unknown role, no or unusable verifier) take their salt and
 * keys from SHA-256 over a per-process random secret and the role name, so
 * the same role always shows the same salt and iteration count within a
 * process and the server-first message has the shape of a real one (16-byte
 * salt, 4096 iterations, as ddl/ makes verifiers). The proof is checked the
 * same way; the result is then refused regardless. The secret is the one
 * process-wide state here, made once under pthread_once.
 */
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "server/scram.h"

#define SCRAM_PREFIX      "SCRAM-SHA-256$"
#define SCRAM_KEY_LEN     32   /* SHA-256 */
#define SCRAM_NONCE_RAW   18   /* random bytes of a server nonce, as PostgreSQL */
#define SCRAM_NONCE_MAX   64   /* longest fixed (test) server nonce */
#define SCRAM_MOCK_SALT   16   /* bytes of a mock salt */
#define SCRAM_MOCK_ITERS  4096 /* iterations of a mock verifier */
#define SCRAM_MSG_MAX     4096 /* longest client message accepted */
#define SCRAM_SALT_MAX    256  /* longest verifier salt accepted (decoded bytes) */

typedef enum scram_state {
    SCRAM_WANT_FIRST, /* srv_scram_first next */
    SCRAM_WANT_FINAL, /* srv_scram_final next */
    SCRAM_DONE,       /* finished or failed: every call is PROTO */
} scram_state;

struct srv_scram {
    scram_state state;
    bool mock;                          /* the exchange must fail at final */
    char cbind_flag;                    /* 'n' or 'y', from the gs2 header */
    int iterations;                     /* from the verifier */
    char *role;                         /* owned copy, for messages */
    char *salt64;                       /* owned: the verifier's salt, base64 */
    char *fixed_nonce;                  /* owned; NULL: random server nonce */
    uint8_t stored_key[SCRAM_KEY_LEN];
    uint8_t server_key[SCRAM_KEY_LEN];
    char *client_first_bare;            /* owned; WANT_FINAL: the bare client-first */
    size_t nbare;
    char *server_first;                 /* owned, NUL-terminated; nonce at +2 */
    size_t nserver_first;
    size_t nnonce;                      /* bytes of the combined nonce */
};

/* --- base64 ---------------------------------------------------------------------------------- */

static int
b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/*
 * Decodes standard padded base64 s[0..n) into out (cap bytes; NULL to only
 * validate). Returns false unless s is non-empty, canonical (padding only at
 * the end, unused bits zero, so one byte string has one encoding) and
 * decodes to at most cap bytes; *len gets the decoded length.
 */
static bool
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    if (n == 0 || n % 4 != 0)
        return false;
    size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    size_t total = n / 4 * 3 - pad;
    if (total > cap)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (size_t j = 0; j < 4; j++) {
            bool padded = i + j >= n - pad;
            v[j] = padded ? 0 : b64_value(s[i + j]);
            if (v[j] < 0)
                return false;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        for (size_t j = 0; j < 3; j++, o++) {
            if (o >= total && bytes[j] != 0)
                return false; /* non-canonical: the bits before the padding must be 0 */
            if (out != NULL && o < total)
                out[o] = bytes[j];
        }
    }
    *len = total;
    return true;
}

/* Standard base64 of in[0..n) into out (4 * ceil(n / 3) + 1 bytes, NUL-terminated). */
static void
b64_encode(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* --- the mock secret ---------------------------------------------------------------------- */

static pthread_once_t mock_once = PTHREAD_ONCE_INIT;
static uint8_t mock_secret[32]; /* written once under mock_once, read-only after */
static bool mock_secret_ok;     /* likewise */

static void
mock_secret_init(void)
{
    mock_secret_ok = RAND_bytes(mock_secret, sizeof mock_secret) == 1;
}

/* SHA-256(secret || label || 0 || role) into out. */
static bool
mock_derive(const char *label, const char *role, uint8_t out[SCRAM_KEY_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, mock_secret, sizeof mock_secret) == 1 &&
              EVP_DigestUpdate(ctx, label, strlen(label) + 1) == 1 &&
              EVP_DigestUpdate(ctx, role, strlen(role)) == 1 &&
              EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Sets s up as a mock exchange for s->role. */
static cc_code
mock_setup(srv_scram *s, cc_err *err)
{
    uint8_t salt[SCRAM_KEY_LEN];
    char salt64[4 * ((SCRAM_MOCK_SALT + 2) / 3) + 1];
    pthread_once(&mock_once, mock_secret_init);
    if (!mock_secret_ok || !mock_derive("salt", s->role, salt) ||
        !mock_derive("stored", s->role, s->stored_key) ||
        !mock_derive("server", s->role, s->server_key))
        return cc_err_set(err, CC_INTERNAL, "could not set up SCRAM authentication");
    b64_encode(salt, SCRAM_MOCK_SALT, salt64);
    s->salt64 = cc_strdup(salt64);
    if (s->salt64 == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
    s->iterations = SCRAM_MOCK_ITERS;
    s->mock = true;
    return CC_OK;
}

/* --- verifiers ------------------------------------------------------------------------------ */

/*
 * Loads "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" into s.
 * Returns CC_OK, CC_INVALID (not a usable verifier; nothing recorded in err)
 * or CC_NOMEM.
 */
static cc_code
verifier_load(srv_scram *s, const char *v, cc_err *err)
{
    size_t lp = strlen(SCRAM_PREFIX), len;
    if (strncmp(v, SCRAM_PREFIX, lp) != 0)
        return CC_INVALID;
    const char *p = v + lp;
    long long it = 0;
    if (*p < '1' || *p > '9')
        return CC_INVALID;
    for (; *p >= '0' && *p <= '9'; p++) {
        it = it * 10 + (*p - '0');
        if (it > INT_MAX)
            return CC_INVALID;
    }
    if (*p++ != ':')
        return CC_INVALID;
    const char *salt = p, *dollar = strchr(salt, '$');
    if (dollar == NULL ||
        !b64_decode(salt, (size_t)(dollar - salt), NULL, SCRAM_SALT_MAX, &len))
        return CC_INVALID;
    const char *stored = dollar + 1, *colon = strchr(stored, ':');
    if (colon == NULL ||
        !b64_decode(stored, (size_t)(colon - stored), s->stored_key, SCRAM_KEY_LEN, &len) ||
        len != SCRAM_KEY_LEN)
        return CC_INVALID;
    const char *server = colon + 1;
    if (!b64_decode(server, strlen(server), s->server_key, SCRAM_KEY_LEN, &len) ||
        len != SCRAM_KEY_LEN)
        return CC_INVALID;
    s->salt64 = cc_malloc((size_t)(dollar - salt) + 1);
    if (s->salt64 == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
    memcpy(s->salt64, salt, (size_t)(dollar - salt));
    s->salt64[dollar - salt] = '\0';
    s->iterations = (int)it;
    return CC_OK;
}

/* --- exchange lifecycle -------------------------------------------------------------------- */

/* True if s[0..n) is a valid nonce: printable ASCII except ',', at least one byte. */
static bool
is_nonce(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
            return false;
    return true;
}

cc_code
srv_scram_new_with_nonce(const char *role, const char *verifier, const char *nonce,
                         srv_scram **out, cc_err *err)
{
    *out = NULL;
    if (role == NULL)
        return cc_err_set(err, CC_INVALID, "SCRAM exchange without a role");
    if (nonce != NULL && (strlen(nonce) > SCRAM_NONCE_MAX || !is_nonce(nonce, strlen(nonce))))
        return cc_err_set(err, CC_INVALID, "invalid fixed SCRAM server nonce");
    srv_scram *s = cc_calloc(1, sizeof *s);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
    cc_code rc = CC_NOMEM;
    s->state = SCRAM_WANT_FIRST;
    s->role = cc_strdup(role);
    if (s->role == NULL || (nonce != NULL && (s->fixed_nonce = cc_strdup(nonce)) == NULL)) {
        cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
        goto fail;
    }
    rc = verifier != NULL ? verifier_load(s, verifier, err) : CC_INVALID;
    if (rc == CC_INVALID)
        rc = mock_setup(s, err);
    if (rc != CC_OK)
        goto fail;
    *out = s;
    return CC_OK;

fail: /* s holds only copies so far */
    srv_scram_free(s);
    return rc;
}

cc_code
srv_scram_new(const char *role, const char *verifier, srv_scram **out, cc_err *err)
{
    return srv_scram_new_with_nonce(role, verifier, NULL, out, err);
}

void
srv_scram_free(srv_scram *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s->stored_key, sizeof s->stored_key);
    OPENSSL_cleanse(s->server_key, sizeof s->server_key);
    cc_free(s->role);
    cc_free(s->salt64);
    cc_free(s->fixed_nonce);
    cc_free(s->client_first_bare);
    cc_free(s->server_first);
    cc_free(s);
}

/* --- parsing ------------------------------------------------------------------------------- */

/* A cursor over a message that is not NUL-terminated. */
typedef struct reader {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
} reader;

/* Consumes "<attr>=" if it comes next. */
static bool
read_attr(reader *r, char attr)
{
    if (r->end - r->p < 2 || r->p[0] != attr || r->p[1] != '=')
        return false;
    r->p += 2;
    return true;
}

/* Consumes the value up to the next ',' or the end (the ',' stays). */
static void
read_value(reader *r, const char **v, size_t *n)
{
    const char *c = memchr(r->p, ',', (size_t)(r->end - r->p));
    *v = r->p;
    *n = (size_t)((c ? c : r->end) - r->p);
    r->p += *n;
}

static bool
read_comma(reader *r)
{
    if (r->p == r->end || *r->p != ',')
        return false;
    r->p++;
    return true;
}

/* True if a saslname's '=' escapes are all "=2C" or "=3D" (RFC 5802 section 5.1). */
static bool
is_saslname(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '=' && (n - i < 3 || !((s[i + 1] == '2' && s[i + 2] == 'C') ||
                                            (s[i + 1] == '3' && s[i + 2] == 'D'))))
            return false;
    return true;
}

/* Fails the exchange: PROTO "malformed SCRAM message" with detail. */
static cc_code
malformed(srv_scram *s, cc_err *err, const char *detail)
{
    s->state = SCRAM_DONE;
    cc_err_set(err, CC_PROTO, "malformed SCRAM message");
    return cc_err_detail(err, "%s", detail);
}

/* Fails the exchange with code and message. */
static cc_code
fail_with(srv_scram *s, cc_err *err, cc_code code, const char *msg)
{
    s->state = SCRAM_DONE;
    return cc_err_set(err, code, "%s", msg);
}

/* Checks the message's envelope shared by both client messages. */
static cc_code
check_envelope(srv_scram *s, scram_state want, const char *msg, size_t n, cc_err *err)
{
    if (s->state != want)
        return fail_with(s, err, CC_PROTO, "unexpected SCRAM message in this state");
    if (n > SCRAM_MSG_MAX)
        return malformed(s, err, "The message is too long.");
    if (memchr(msg, '\0', n) != NULL)
        return malformed(s, err, "The message contains a NUL byte.");
    return CC_OK;
}

/* --- client-first -> server-first --------------------------------------------------------- */

cc_code
srv_scram_first(srv_scram *s, const char *msg, size_t n, char **out, cc_err *err)
{
    *out = NULL;
    cc_code rc = check_envelope(s, SCRAM_WANT_FIRST, msg, n, err);
    if (rc != CC_OK)
        return rc;
    reader r = {msg, msg + n};
    if (r.p == r.end)
        return malformed(s, err, "The message is empty.");
    char flag = *r.p++;
    if (flag == 'p')
        return fail_with(s, err, CC_PROTO,
                         "channel binding (SCRAM-SHA-256-PLUS) is not supported");
    if (flag != 'n' && flag != 'y')
        return malformed(s, err, "Unexpected channel-binding flag.");
    if (!read_comma(&r))
        return malformed(s, err, "Comma expected after the channel-binding flag.");
    if (r.p < r.end && *r.p == 'a')
        return fail_with(s, err, CC_PROTO,
                         "client uses authorization identity, but it is not supported");
    if (!read_comma(&r))
        return malformed(s, err, "Comma expected at the end of the GS2 header.");
    const char *bare = r.p;
    if (r.p < r.end && *r.p == 'm')
        return fail_with(s, err, CC_PROTO, "client requires an unsupported SCRAM extension");
    const char *v;
    size_t nv;
    if (!read_attr(&r, 'n'))
        return malformed(s, err, "Expected attribute \"n\".");
    read_value(&r, &v, &nv);
    if (!is_saslname(v, nv))
        return malformed(s, err, "Malformed user name.");
    if (!read_comma(&r) || !read_attr(&r, 'r'))
        return malformed(s, err, "Expected attribute \"r\".");
    const char *cnonce;
    size_t ncnonce;
    read_value(&r, &cnonce, &ncnonce);
    if (!is_nonce(cnonce, ncnonce))
        return malformed(s, err, "Malformed client nonce.");
    if (r.p != r.end)
        return malformed(s, err, "SCRAM extensions are not supported.");

    char snonce[SCRAM_NONCE_MAX + 1];
    if (s->fixed_nonce != NULL) {
        memcpy(snonce, s->fixed_nonce, strlen(s->fixed_nonce) + 1);
    } else {
        uint8_t raw[SCRAM_NONCE_RAW];
        if (RAND_bytes(raw, sizeof raw) != 1)
            return fail_with(s, err, CC_INTERNAL, "could not generate a random SCRAM nonce");
        b64_encode(raw, sizeof raw, snonce);
    }
    size_t nsn = strlen(snonce);
    size_t cap = 2 + ncnonce + nsn + 3 + strlen(s->salt64) + 3 + 12 + 1;
    s->server_first = cc_malloc(cap);
    s->client_first_bare = cc_malloc((size_t)(r.end - bare));
    *out = cc_malloc(cap);
    if (s->server_first == NULL || s->client_first_bare == NULL || *out == NULL) {
        cc_free(*out);
        *out = NULL;
        return fail_with(s, err, CC_NOMEM, "out of memory in SCRAM authentication");
    }
    int len = snprintf(s->server_first, cap, "r=%.*s%s,s=%s,i=%d", (int)ncnonce, cnonce, snonce,
                       s->salt64, s->iterations);
    CC_ASSERT(len > 0 && (size_t)len < cap);
    s->nserver_first = (size_t)len;
    s->nnonce = ncnonce + nsn;
    s->nbare = (size_t)(r.end - bare);
    memcpy(s->client_first_bare, bare, s->nbare);
    memcpy(*out, s->server_first, s->nserver_first + 1);
    s->cbind_flag = flag;
    s->state = SCRAM_WANT_FINAL;
    return CC_OK;
}

/* --- client-final -> server-final --------------------------------------------------------- */

/* HMAC-SHA-256(key, a "," b "," c) into out. */
static bool
hmac_auth(const uint8_t *key, const srv_scram *s, const char *final, size_t nfinal,
          uint8_t out[SCRAM_KEY_LEN])
{
    size_t n = s->nbare + 1 + s->nserver_first + 1 + nfinal;
    uint8_t *auth = cc_malloc(n);
    if (auth == NULL)
        return false;
    memcpy(auth, s->client_first_bare, s->nbare);
    auth[s->nbare] = ',';
    memcpy(auth + s->nbare + 1, s->server_first, s->nserver_first);
    auth[s->nbare + 1 + s->nserver_first] = ',';
    memcpy(auth + s->nbare + 2 + s->nserver_first, final, nfinal);
    unsigned int len = 0;
    bool ok = HMAC(EVP_sha256(), key, SCRAM_KEY_LEN, auth, n, out, &len) != NULL &&
              len == SCRAM_KEY_LEN;
    cc_free(auth);
    return ok;
}

cc_code
srv_scram_final(srv_scram *s, const char *msg, size_t n, char **out, cc_err *err)
{
    *out = NULL;
    cc_code rc = check_envelope(s, SCRAM_WANT_FINAL, msg, n, err);
    if (rc != CC_OK)
        return rc;
    reader r = {msg, msg + n};
    const char *v;
    size_t nv;
    if (!read_attr(&r, 'c'))
        return malformed(s, err, "Expected attribute \"c\".");
    read_value(&r, &v, &nv);
    const char *want = s->cbind_flag == 'y' ? "eSws" : "biws"; /* base64 of "y,," / "n,," */
    if (nv != 4 || memcmp(v, want, 4) != 0)
        return fail_with(s, err, CC_PROTO, "SCRAM channel binding check failed");
    if (!read_comma(&r) || !read_attr(&r, 'r'))
        return malformed(s, err, "Expected attribute \"r\".");
    read_value(&r, &v, &nv);
    if (nv != s->nnonce || memcmp(v, s->server_first + 2, nv) != 0)
        return malformed(s, err, "Nonce does not match.");
    if (!read_comma(&r))
        return malformed(s, err, "Expected attribute \"p\".");
    size_t nwithout = (size_t)(r.p - 1 - msg);
    if (!read_attr(&r, 'p'))
        return malformed(s, err, "Expected attribute \"p\" (SCRAM extensions are not supported).");
    read_value(&r, &v, &nv);
    if (r.p != r.end)
        return malformed(s, err, "Garbage found at the end of client-final-message.");
    uint8_t proof[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN], check[SCRAM_KEY_LEN];
    size_t nproof;
    if (!b64_decode(v, nv, proof, sizeof proof, &nproof) || nproof != SCRAM_KEY_LEN)
        return malformed(s, err, "Malformed proof in client-final-message.");

    s->state = SCRAM_DONE;
    if (!hmac_auth(s->stored_key, s, msg, nwithout, sig))
        return cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
    for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
        proof[i] ^= sig[i]; /* proof now holds ClientKey */
    bool ok = SHA256(proof, SCRAM_KEY_LEN, check) != NULL &&
              CRYPTO_memcmp(check, s->stored_key, SCRAM_KEY_LEN) == 0 && !s->mock;
    OPENSSL_cleanse(proof, sizeof proof);
    if (!hmac_auth(s->server_key, s, msg, nwithout, sig))
        return cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
    if (!ok)
        return cc_err_set_state(err, CC_PERMISSION, "28P01",
                                "password authentication failed for user \"%s\"", s->role);
    *out = cc_malloc(2 + 4 * ((SCRAM_KEY_LEN + 2) / 3) + 1);
    if (*out == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory in SCRAM authentication");
    memcpy(*out, "v=", 2);
    b64_encode(sig, SCRAM_KEY_LEN, *out + 2);
    return CC_OK;
}
