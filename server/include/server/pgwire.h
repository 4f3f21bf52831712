/*
 * server/pgwire.h — PostgreSQL frontend/backend protocol 3.0 framing: an
 * output buffer that builds backend messages, a reader that takes frontend
 * message bodies apart without reading past them, and frame input from a
 * socket with the server's limits.
 *
 * A regular message on the wire:
 *
 *   +------+----------------+---------------------------+
 *   | type | length (int32) | body (length - 4 bytes)   |
 *   | 1 B  | big-endian,    |                           |
 *   |      | counts itself  |                           |
 *   +------+----------------+---------------------------+
 *
 * The startup packet has no type byte (length, then a 32-bit code: the
 * protocol version, or SSLRequest / GSSENCRequest / CancelRequest).
 *
 * Nothing here allocates per message but the buffers' growth; nothing
 * trusts a length it was given: every pgw_get_* fails (and latches
 * r->bad) rather than read past the body.
 */
#ifndef SERVER_PGWIRE_H
#define SERVER_PGWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define PGW_MAX_MESSAGE   (64u << 20) /* a larger frontend message: 08P01, connection closed */
/* What a Parse body may hold beyond its statement and NUL: a name, 65535 parameter types. */
#define PGW_PARSE_EXTRA   (512u << 10)
#define PGW_SKIP_CHUNK    (64u << 10) /* a refused statement is read and dropped in such pieces */
#define PGW_MAX_STARTUP   10000u      /* PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
#define PGW_PROTOCOL_3_0  196608      /* 3 << 16 */
#define PGW_SSL_REQUEST   80877103
#define PGW_GSS_REQUEST   80877104
#define PGW_CANCEL_REQUEST 80877102

/* An output buffer of backend messages; failed latches on allocation failure. */
typedef struct pgw_buf {
    char *data;
    size_t len;   /* bytes written */
    size_t cap;
    size_t start; /* offset of the message being built (pgw_msg_begin) */
    bool failed;  /* an allocation failed: the contents are incomplete */
} pgw_buf;

void pgw_buf_init(pgw_buf *b);
void pgw_buf_fini(pgw_buf *b);
/* Forgets the contents (keeps the memory). */
void pgw_buf_reset(pgw_buf *b);

/* Starts a message of type (its length is patched by pgw_msg_end). */
void pgw_msg_begin(pgw_buf *b, char type);
void pgw_msg_end(pgw_buf *b);
void pgw_put_u8(pgw_buf *b, uint8_t v);
void pgw_put_i16(pgw_buf *b, int16_t v);
void pgw_put_i32(pgw_buf *b, int32_t v);
void pgw_put_bytes(pgw_buf *b, const void *p, size_t n);
/* A NUL-terminated string (the NUL included). */
void pgw_put_str(pgw_buf *b, const char *s);

/* Reads a frontend message body (borrowed). */
typedef struct pgw_reader {
    const char *p;
    size_t n;
    size_t off;
    bool bad; /* a read went past the body or found no terminator */
} pgw_reader;

void pgw_reader_init(pgw_reader *r, const char *p, size_t n);
/* Each returns false (and sets r->bad) if the body is too short. */
bool pgw_get_i16(pgw_reader *r, int16_t *out);
bool pgw_get_i32(pgw_reader *r, int32_t *out);
/* A NUL-terminated string inside the body: *out points into it. */
bool pgw_get_str(pgw_reader *r, const char **out);
/* n bytes: *out points into the body. */
bool pgw_get_bytes(pgw_reader *r, size_t n, const char **out);
/* True if every byte was consumed and nothing went wrong. */
bool pgw_reader_done(const pgw_reader *r);

/* Buffered socket input. */
typedef struct pgw_in {
    int fd;
    char *buf;
    size_t len;   /* bytes held */
    size_t off;   /* bytes consumed */
    size_t cap;
    int idle_timeout_ms; /* > 0: waiting longer for a message's first byte is PGW_READ_TIMEOUT */
    /*
     * > 0: a Query whose body exceeds statement_limit + 1 bytes, or a Parse
     * whose body exceeds statement_limit + 2 + PGW_PARSE_EXTRA, is
     * PGW_READ_STATEMENT_TOO_LONG (only up to the message limit).
     */
    size_t statement_limit;
} pgw_in;

void pgw_in_init(pgw_in *in, int fd);
void pgw_in_fini(pgw_in *in);

/* What pgw_read_message found. */
typedef enum pgw_read_result {
    PGW_READ_OK = 0,   /* a whole message */
    PGW_READ_EOF,      /* the peer closed between messages */
    PGW_READ_TRUNCATED,/* the peer closed (or failed) in the middle of a message */
    PGW_READ_TOO_LONG, /* a length over the limit, or under 4: *n the body length it declared */
    PGW_READ_STOP,     /* stop_fd became readable (server shutdown) between messages */
    PGW_READ_NOMEM,
    PGW_READ_TIMEOUT, /* idle_timeout_ms passed with no byte of a new message */
    /*
     * A Query or Parse over pgw_in.statement_limit: its body was read and
     * dropped PGW_SKIP_CHUNK at a time, never held whole; *type is its
     * type, *n its statement's length (the body's if it has no terminator),
     * *body NULL. The connection can go on with the next message.
     */
    PGW_READ_STATEMENT_TOO_LONG,
} pgw_read_result;

/*
 * Reads one message: a typed message (startup false: *type, body) or the
 * startup packet (startup true: *type 0). The body (*body, *n) is valid
 * until the next call. Waits for input with poll(); while no byte of a
 * message has arrived it also watches stop_fd (-1: none). limit bounds the
 * body length.
 */
pgw_read_result pgw_read_message(pgw_in *in, bool startup, size_t limit, int stop_fd, char *type,
                                 const char **body, size_t *n);

/*
 * Reads and drops the next n bytes of input (those held first), stopping
 * early at EOF, an error, stop_fd readable or after timeout_ms. Used before
 * closing on a message that will not be read (PGW_READ_TOO_LONG): closing a
 * socket with unread input makes the kernel reset the connection, and the
 * client would lose the FATAL just sent.
 */
void pgw_drain(pgw_in *in, size_t n, int timeout_ms, int stop_fd);

/*
 * Writes all of b to fd (MSG_NOSIGNAL; EINTR retried). Returns false if the
 * peer is gone or the send timed out (SO_SNDTIMEO on fd), or b failed.
 */
bool pgw_flush(int fd, pgw_buf *b);

#endif
