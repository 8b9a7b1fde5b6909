// What a server asks of feth-ssh on its own initiative: channel opens
// (x11, forwarded-tcpip, auth-agent, tun...) and requests feth-ssh's
// channels do not take. Without a message callback libssh keeps each one
// in a list nobody reads, without bound and unanswered; ssh answers unknown
// opens with OPEN_FAILURE (clientloop.c). Here every one is answered at once
// with libssh's default (an open: "administratively prohibited"; a request
// that wants a reply: failure) and freed.
#pragma once

#include <libssh/libssh.h>

namespace feth::client {

// Installs the refusal on `session` (before it connects).
void refuse_server_requests(ssh_session session);

} // namespace feth::client
