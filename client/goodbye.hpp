// Ending a connection as ssh does: what is queued goes out, then
// SSH_MSG_DISCONNECT (ssh's "disconnected by user" when the user asked to
// stop), then the socket is half-closed and drained, so that the server
// reads the goodbye and the kernel never answers its last bytes with a
// reset (closing a socket with unread data sends RST). Bounded in time.
#pragma once

#include <libssh/libssh.h>

#include <chrono>

namespace feth::client {

// `reason`: the text of SSH_MSG_DISCONNECT (nullptr: libssh's). Waits at
// most `bound` in all. The session is disconnected afterwards, whatever
// the server did.
void disconnect_cleanly(ssh_session session, const char* reason, std::chrono::milliseconds bound);

} // namespace feth::client
