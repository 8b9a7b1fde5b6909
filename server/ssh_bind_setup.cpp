#include "ssh_bind_setup.hpp"

#include <libssh/callbacks.h>
#include <libssh/server.h>

#include <memory>

#include "pubkey_auth.hpp"
#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::server {
namespace {

void libssh_log(int priority, const char* function, const char* buffer, void*)
{
    using log::Level;
    Level lvl = priority <= SSH_LOG_WARN ? Level::Debug1 : priority <= SSH_LOG_INFO ? Level::Debug2 : Level::Debug3;
    if (log::enabled(lvl)) log::write(lvl, false, "libssh %s: %s", function, buffer);
}

// The effective Ciphers and KexAlgorithms (ConfigParser::finish made them
// plain lists of names libssh implements): libssh offers them as given.
void set_algorithms(ssh_bind bind, const config::ServerConfig& cfg)
{
    auto set = [bind](ssh_bind_options_e option, const std::string& list, const char* keyword) {
        if (ssh_bind_options_set(bind, option, list.c_str()) != SSH_OK)
            throw InputError(std::string("Bad SSH2 ") + keyword + " '" + list + "': " + ssh_get_error(bind));
    };
    set(SSH_BIND_OPTIONS_CIPHERS_C_S, cfg.ciphers, "Ciphers");
    set(SSH_BIND_OPTIONS_CIPHERS_S_C, cfg.ciphers, "Ciphers");
    set(SSH_BIND_OPTIONS_KEY_EXCHANGE, cfg.kex_algorithms, "KexAlgorithms");
}

} // namespace

BindPtr make_bind(const std::vector<std::string>& host_public_keys, const config::ServerConfig& cfg)
{
    BindPtr bind(ssh_bind_new());
    if (!bind) throw InputError("ssh_bind_new failed");
    bool no = false;
    ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
    for (const auto& blob : host_public_keys) {
        std::unique_ptr<ssh_string_struct, decltype(&ssh_string_free)> s(ssh_string_new(blob.size()),
                                                                           &ssh_string_free);
        if (!s || ssh_string_fill(s.get(), blob.data(), blob.size()) != 0) throw InputError("out of memory");
        ssh_key pub = nullptr;
        if (ssh_pki_import_pubkey_blob(s.get(), &pub) != SSH_OK || pub == nullptr)
            throw InputError("a public host key from the monitor does not parse");
        // The bind takes ownership of the key.
        if (ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_IMPORT_KEY, pub) != SSH_OK) {
            ssh_key_free(pub);
            throw InputError(std::string("public host key: ") + ssh_get_error(bind.get()));
        }
    }
    if (ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, kUserKeyAlgorithms) != SSH_OK)
        throw InputError(std::string("PubkeyAcceptedKeyTypes: ") + ssh_get_error(bind.get()));
    set_algorithms(bind.get(), cfg);
    return bind;
}

void check_algorithms(const config::ServerConfig& cfg)
{
    BindPtr check(ssh_bind_new());
    if (!check) throw InputError("ssh_bind_new failed");
    set_algorithms(check.get(), cfg);
}

void init_libssh()
{
    if (ssh_init() != SSH_OK) throw InputError("libssh initialisation failed");
    ssh_set_log_callback(libssh_log);
    ssh_set_log_level(log::enabled(log::Level::Debug3)   ? SSH_LOG_FUNCTIONS
                      : log::enabled(log::Level::Debug2) ? SSH_LOG_PROTOCOL
                      : log::enabled(log::Level::Debug1) ? SSH_LOG_WARN
                                                         : SSH_LOG_NOLOG);
}

} // namespace feth::server
