#include "server_requests.hpp"

#include <libssh/server.h>

#include "base/log.hpp"

namespace feth::client {
namespace {

// 1: libssh replies with its default and frees the message.
int refuse(ssh_session, ssh_message message, void* userdata)
{
    auto* refused = static_cast<unsigned long*>(userdata);
    if (ssh_message_type(message) == SSH_REQUEST_CHANNEL_OPEN) {
        // The first one is worth a line; a flood is not worth a line each.
        if ((*refused)++ == 0) LOG_INFO("Refused a channel the server tried to open (administratively prohibited)");
        else LOG_DEBUG2("refused channel open %lu from the server", *refused);
    }
    return 1;
}

} // namespace

void refuse_server_requests(ssh_session session)
{
    // One counter for the process: it only spares the log.
    static unsigned long refused = 0;
    ssh_set_message_callback(session, refuse, &refused);
}

} // namespace feth::client
