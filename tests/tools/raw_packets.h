/*
 * Messages the public libssh API will not send: malformed or early channel
 * opens and oversized data, for bad_client, and hand-made user
 * authentication requests for the unit tests of libssh patch 0005.
 * Implemented in C against libssh's private headers, which only these
 * tests may use.
 */
#ifndef FETH_TESTS_RAW_PACKETS_H
#define FETH_TESTS_RAW_PACKETS_H

#include <stddef.h>
#include <stdint.h>

#include <libssh/libssh.h>

#ifdef __cplusplus
extern "C" {
#endif

enum raw_open_state { RAW_OPENING = 0, RAW_OPEN = 1, RAW_DENIED = 2, RAW_OTHER = 3 };

/* A channel object in "opening" state whose open the caller sends with
 * raw_send_channel_open() (needs an authenticated session). */
ssh_channel raw_channel_opening(ssh_session session);
uint32_t raw_channel_local_id(ssh_channel channel);
uint32_t raw_channel_remote_id(ssh_channel channel);
uint32_t raw_channel_remote_maxpacket(ssh_channel channel);
enum raw_open_state raw_channel_state(ssh_channel channel);

/* SSH_MSG_CHANNEL_OPEN "type" with our id, window and max packet, followed
 * by `extra` as the type-specific part, byte for byte. */
int raw_send_channel_open(ssh_session session, const char *type, uint32_t local_id,
                          const void *extra, size_t extra_len);

/* Any message: `payload` byte for byte (its first byte is the message
 * type), encrypted and sent as one packet. */
int raw_send_message(ssh_session session, const void *payload, size_t len);

/* SSH_MSG_CHANNEL_DATA to the peer's channel, bypassing every check. */
int raw_send_channel_data(ssh_session session, uint32_t remote_id, const void *data, size_t len);

/* Reads and dispatches what arrived within timeout_ms; SSH_ERROR once the
 * session is broken or closed. */
int raw_process(ssh_session session, int timeout_ms);

/* The text of the SSH_MSG_DISCONNECT the peer sent, or NULL if none came.
 * Kept even when the end of the TCP stream, read in the same poll,
 * replaced the session's error with "Socket error: disconnected". */
const char *raw_peer_disconnect_message(ssh_session session);
int raw_session_in_error(ssh_session session);

/* The client's view of the server's answer to a user authentication request
 * sent with raw_send_message(): raw_auth_reset() forgets the last one (and
 * puts the client where its own signed publickey request would), and
 * raw_auth_answer() tells what came since (RAW_AUTH_NONE: nothing yet). */
enum raw_auth_result { RAW_AUTH_NONE = 0, RAW_AUTH_FAILURE, RAW_AUTH_PARTIAL, RAW_AUTH_SUCCESS, RAW_AUTH_OTHER };
void raw_auth_reset(ssh_session session);
enum raw_auth_result raw_auth_answer(ssh_session session);

/* The session identifier (the first key exchange's hash) as this end holds
 * it: copies at most `cap` bytes to `out` and returns its length, 0 before
 * the first key exchange. */
size_t raw_session_id(ssh_session session, unsigned char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
