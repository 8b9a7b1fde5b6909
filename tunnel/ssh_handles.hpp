// Owning handles for libssh objects, so that sessions, channels, keys and
// events are released on every path.
#pragma once

#include <libssh/libssh.h>
#include <libssh/server.h>

#include <memory>

namespace feth {

struct SessionDeleter {
    void operator()(ssh_session s) const noexcept { ssh_free(s); }
};
struct ChannelDeleter {
    void operator()(ssh_channel c) const noexcept { ssh_channel_free(c); }
};
struct KeyDeleter {
    void operator()(ssh_key k) const noexcept { ssh_key_free(k); }
};
struct EventDeleter {
    void operator()(ssh_event e) const noexcept { ssh_event_free(e); }
};
struct BindDeleter {
    void operator()(ssh_bind b) const noexcept { ssh_bind_free(b); }
};
// A message the application kept (SSH_MESSAGE_KEEP, libssh patch 0007):
// freed before its session.
struct MessageDeleter {
    void operator()(ssh_message m) const noexcept { ssh_message_free(m); }
};
struct StringDeleter {
    void operator()(char* p) const noexcept { ssh_string_free_char(p); }
};

using SessionPtr = std::unique_ptr<ssh_session_struct, SessionDeleter>;
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelDeleter>;
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyDeleter>;
using EventPtr = std::unique_ptr<ssh_event_struct, EventDeleter>;
using BindPtr = std::unique_ptr<ssh_bind_struct, BindDeleter>;
using MessagePtr = std::unique_ptr<ssh_message_struct, MessageDeleter>;
using SshStringPtr = std::unique_ptr<char, StringDeleter>;

} // namespace feth
