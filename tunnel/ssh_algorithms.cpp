#include "tunnel/ssh_algorithms.hpp"

#include <string>

#include "base/log.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth {

namespace {

// libssh filters a list down to the names it knows and fails only when none
// is left (ssh_keep_known_algos), so one name at a time is a yes or a no.
bool server_implements(AlgorithmKind kind, const std::string& name)
{
    BindPtr bind(ssh_bind_new());
    if (!bind) return false;
    auto option = kind == AlgorithmKind::Kex ? SSH_BIND_OPTIONS_KEY_EXCHANGE : SSH_BIND_OPTIONS_CIPHERS_C_S;
    return ssh_bind_options_set(bind.get(), option, name.c_str()) == SSH_OK;
}

bool client_implements(AlgorithmKind kind, const std::string& name)
{
    SessionPtr session(ssh_new());
    if (!session) return false;
    auto option = kind == AlgorithmKind::Kex ? SSH_OPTIONS_KEY_EXCHANGE : SSH_OPTIONS_CIPHERS_C_S;
    return ssh_options_set(session.get(), option, name.c_str()) == SSH_OK;
}

} // namespace

bool libssh_implements(AlgorithmRole role, AlgorithmKind kind, std::string_view name)
{
    // A list, a pattern or a +, -, ^ form is no single name: libssh would
    // apply it (to its own defaults) instead of answering for one name.
    if (name.empty() || std::string_view("+-^!").find(name.front()) != std::string_view::npos ||
        name.find_first_of(",*?") != std::string_view::npos)
        return false;
    const std::string n(name);
    return role == AlgorithmRole::Server ? server_implements(kind, n) : client_implements(kind, n);
}

AlgorithmSupport libssh_algorithm_support(AlgorithmRole role)
{
    return [role](AlgorithmKind kind, std::string_view name) { return libssh_implements(role, kind, name); };
}

void log_negotiated_algorithms(ssh_session session)
{
    auto or_unknown = [](const char* s) { return s != nullptr ? s : "(unknown)"; };
    LOG_DEBUG("kex: algorithm: %s", or_unknown(ssh_get_kex_algo(session)));
    LOG_DEBUG("kex: ciphers: in %s, out %s", or_unknown(ssh_get_cipher_in(session)),
              or_unknown(ssh_get_cipher_out(session)));
}

} // namespace feth
