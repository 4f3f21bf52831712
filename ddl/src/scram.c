/*
 * ddl/src/scram.c — SCRAM-SHA-256 password verifiers (RFC 5802 / 7677) in
 * PostgreSQL's stored format, so a role's password is never kept in clear:
 *
 *   SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
 *
 *   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
 *   StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *
 * salt, StoredKey and ServerKey in standard base64. PostgreSQL first applies
 * SASLprep to the password; for ASCII passwords that is the identity (and
 * PostgreSQL falls back to the raw bytes when SASLprep rejects the input),
 * so verifiers of ASCII passwords are identical. Non-ASCII passwords are used
 * as raw UTF-8 bytes here (no NFKC normalization).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "internal.h"

#define SCRAM_PREFIX     "SCRAM-SHA-256$"
#define SCRAM_KEY_LEN    32 /* SHA-256 */
#define SCRAM_SALT_LEN   16
#define SCRAM_ITERATIONS 4096

/* Standard base64 of in[0..n) into out (4 * ceil(n / 3) + 1 bytes). */
static void
b64(const uint8_t *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

cc_code
ddl__scram_verifier_salt(const char *password, const uint8_t *salt, size_t nsalt, int iterations,
                         char **out, cc_err *err)
{
    *out = NULL;
    uint8_t salted[SCRAM_KEY_LEN], client[SCRAM_KEY_LEN], stored[SCRAM_KEY_LEN],
        server[SCRAM_KEY_LEN];
    unsigned int len = 0;
    bool ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)nsalt, iterations,
                                EVP_sha256(), SCRAM_KEY_LEN, salted) == 1;
    ok = ok && HMAC(EVP_sha256(), salted, SCRAM_KEY_LEN, (const unsigned char *)"Client Key", 10,
                    client, &len) != NULL;
    ok = ok && SHA256(client, SCRAM_KEY_LEN, stored) != NULL;
    ok = ok && HMAC(EVP_sha256(), salted, SCRAM_KEY_LEN, (const unsigned char *)"Server Key", 10,
                    server, &len) != NULL;
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(client, sizeof client);
    if (!ok)
        return cc_err_set(err, CC_INTERNAL, "could not compute a SCRAM-SHA-256 verifier");
    char salt64[4 * ((64 + 2) / 3) + 1], stored64[4 * ((SCRAM_KEY_LEN + 2) / 3) + 1],
        server64[sizeof stored64];
    if (nsalt > 64)
        return cc_err_set(err, CC_INVALID, "SCRAM salt longer than 64 bytes");
    b64(salt, nsalt, salt64);
    b64(stored, SCRAM_KEY_LEN, stored64);
    b64(server, SCRAM_KEY_LEN, server64);
    size_t cap =
        strlen(SCRAM_PREFIX) + 12 + strlen(salt64) + strlen(stored64) + strlen(server64) + 4;
    char *s = cc_malloc(cap);
    if (s == NULL)
        return cc_err_set(err, CC_NOMEM, "out of memory computing a password verifier");
    snprintf(s, cap, SCRAM_PREFIX "%d:%s$%s:%s", iterations, salt64, stored64, server64);
    *out = s;
    return CC_OK;
}

cc_code
ddl__scram_verifier(const char *password, char **out, cc_err *err)
{
    uint8_t salt[SCRAM_SALT_LEN];
    *out = NULL;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return cc_err_set(err, CC_INTERNAL, "could not generate a random salt");
    return ddl__scram_verifier_salt(password, salt, sizeof salt, SCRAM_ITERATIONS, out, err);
}

/* True if s[0..n) is standard base64 that decodes to want bytes (0: any non-empty). */
static bool
is_b64(const char *s, size_t n, size_t want)
{
    if (n == 0 || n % 4 != 0)
        return false;
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '=') {
            if (i < n - 2)
                return false;
            pad++;
            continue;
        }
        if (pad > 0)
            return false;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '/'))
            return false;
    }
    return want == 0 || n / 4 * 3 - pad == want;
}

bool
ddl__scram_is_verifier(const char *s)
{
    size_t lp = strlen(SCRAM_PREFIX);
    if (strncmp(s, SCRAM_PREFIX, lp) != 0)
        return false;
    const char *p = s + lp;
    char *end;
    long it = strtol(p, &end, 10);
    if (end == p || it <= 0 || *end != ':')
        return false;
    const char *salt = end + 1, *dollar = strchr(salt, '$');
    if (dollar == NULL || !is_b64(salt, (size_t)(dollar - salt), 0))
        return false;
    const char *stored = dollar + 1, *colon = strchr(stored, ':');
    if (colon == NULL || !is_b64(stored, (size_t)(colon - stored), SCRAM_KEY_LEN))
        return false;
    return is_b64(colon + 1, strlen(colon + 1), SCRAM_KEY_LEN);
}
