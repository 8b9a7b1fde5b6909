// feth-sshd: an SSH server that carries OpenSSH tunnels (ssh -w) and nothing
// else. Command line in sshd's style.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <libssh/callbacks.h>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "config/server_config.hpp"
#include "host_keys.hpp"
#include "pubkey_auth.hpp"
#include "listener.hpp"
#include "sandbox.hpp"
#include "status.hpp"
#include "base/detach.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/device.hpp"
#include "tunnel/ssh_algorithms.hpp"
#include "tunnel/ssh_handles.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/feth-sshd/feth-sshd_config";
// The generated host key's directory: /var/lib on Linux (FHS); on macOS
// /var/lib does not exist (it would become /private/var/lib) and daemons
// keep state in /var/db, where the launchd plist and the formula point too.
#if defined(__APPLE__)
constexpr const char* kDefaultStateDir = "/var/db/feth-sshd";
#else
constexpr const char* kDefaultStateDir = "/var/lib/feth-sshd";
#endif

struct Args {
    std::string config_file = kDefaultConfig;
    bool config_given = false;
    bool foreground = false;
    bool log_stderr = false;
    int debug = 0;
    std::vector<int> ports;
    std::vector<std::string> host_keys;
    std::vector<std::string> options;
    bool test_only = false;
    bool dump = false;
    bool status = false;
    bool json = false;
    std::string state_dir = kDefaultStateDir;
};

// libssh's own diagnostics, at our debug levels only.
void libssh_log(int priority, const char* function, const char* buffer, void*)
{
    using feth::log::Level;
    Level lvl = priority <= SSH_LOG_WARN ? Level::Debug1 : priority <= SSH_LOG_INFO ? Level::Debug2 : Level::Debug3;
    if (feth::log::enabled(lvl)) feth::log::write(lvl, false, "libssh %s: %s", function, buffer);
}

feth::config::ServerConfig load_config(const Args& args)
{
    feth::config::ServerConfig cfg;
    feth::config::ConfigParser parser(cfg, feth::libssh_algorithm_support(feth::config::AlgorithmRole::Server));
    for (int p : args.ports) parser.apply_option("Port=" + std::to_string(p));
    for (const auto& k : args.host_keys) parser.apply_option("HostKey=" + k);
    for (const auto& o : args.options) parser.apply_option(o);
    if (args.config_given || ::access(args.config_file.c_str(), F_OK) == 0) parser.apply_file(args.config_file);
    parser.finish();
    return cfg;
}

// The effective Ciphers and KexAlgorithms (ConfigParser::finish made them
// plain lists of names libssh implements): libssh offers them as given.
void set_algorithms(ssh_bind bind, const feth::config::ServerConfig& cfg)
{
    auto set = [bind](ssh_bind_options_e option, const std::string& list, const char* keyword) {
        if (ssh_bind_options_set(bind, option, list.c_str()) != SSH_OK)
            throw feth::InputError(std::string("Bad SSH2 ") + keyword + " '" + list + "': " + ssh_get_error(bind));
    };
    set(SSH_BIND_OPTIONS_CIPHERS_C_S, cfg.ciphers, "Ciphers");
    set(SSH_BIND_OPTIONS_CIPHERS_S_C, cfg.ciphers, "Ciphers");
    set(SSH_BIND_OPTIONS_KEY_EXCHANGE, cfg.kex_algorithms, "KexAlgorithms");
}

// The bind holds only the public host keys: the monitor keeps the private
// ones and signs for the child (server/host_keys.hpp).
feth::BindPtr make_bind(const feth::server::HostKeys& host_keys, const feth::config::ServerConfig& cfg)
{
    feth::BindPtr bind(ssh_bind_new());
    if (!bind) throw feth::InputError("ssh_bind_new failed");
    bool no = false;
    ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
    host_keys.import_public_keys(bind.get());
    if (ssh_bind_options_set(bind.get(), SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
                             feth::server::kUserKeyAlgorithms) != SSH_OK)
        throw feth::InputError(std::string("PubkeyAcceptedKeyTypes: ") + ssh_get_error(bind.get()));
    set_algorithms(bind.get(), cfg);
    return bind;
}


} // namespace

int main(int argc, char** argv)
{
    // Nothing we inherited beyond stdio may reach a connection's child.
    feth::server::close_inherited_descriptors();
    Args args;
    CLI::App app{"feth-sshd: an SSH server for OpenSSH tunnels (ssh -w), layer 2 and layer 3", "feth-sshd"};
    app.set_help_flag("--help", "Print this help and exit");
    // The libssh it runs on decides which algorithms it offers (ML-KEM and
    // sntrup761 need 0.12): say which.
    app.set_version_flag("--version", std::string("feth-sshd ") + FETH_VERSION + " (libssh " + ssh_version(0) + ")");
    app.add_option("-f", args.config_file, "Configuration file (sshd_config syntax)")
        ->type_name("FILE")
        ->each([&](const std::string&) { args.config_given = true; });
    app.add_flag("-D", args.foreground, "Do not detach: run in the foreground");
    app.add_flag("-e", args.log_stderr, "Log to standard error instead of syslog");
    app.add_flag("-d", args.debug, "Debug mode: foreground, log to stderr; repeat for more (up to 3)");
    app.add_option("-p", args.ports, "Port to listen on (overrides Port; repeatable)")
        ->type_name("PORT")
        ->check(CLI::Range(1, 65535));
    app.add_option("-h", args.host_keys, "Host key file (overrides HostKey; repeatable)")->type_name("FILE");
    app.add_option("-o", args.options, "Configuration option, as in the file: -o Keyword=value (repeatable)")
        ->type_name("OPTION");
    app.add_flag("-t", args.test_only, "Test mode: check the configuration and host keys, then exit");
    app.add_flag("-S", args.status, "Status: ask the running server for one line per tunnel, then exit");
    app.add_flag("--json", args.json, "With -S: print JSON");
    app.add_flag("-T", args.dump, "Extended test mode: check, then print the effective configuration and exit");
    app.add_option("--state-dir", args.state_dir, "Where the generated host key is kept")
        ->type_name("DIR")
        ->capture_default_str();
    app.footer("Defaults: PermitTunnel ethernet, Port 22, all addresses; with no HostKey an ed25519 key is\n"
               "generated once in the state directory. The configuration file is read if it exists.");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 255;
    }

    feth::log::Options log_opts;
    log_opts.ident = "feth-sshd";
    log_opts.to_stderr = args.log_stderr || args.debug > 0 || args.test_only || args.dump;
    feth::log::configure(log_opts);

    try {
        auto cfg = load_config(args);
        log_opts.level = cfg.log_level;
        if (args.debug > 0) {
            static constexpr feth::log::Level levels[] = {feth::log::Level::Debug1, feth::log::Level::Debug2,
                                                          feth::log::Level::Debug3};
            log_opts.level = levels[std::min(args.debug, 3) - 1];
            args.foreground = true;
        }
        feth::log::configure(log_opts);

        if (args.status) return feth::server::print_status(cfg.status_socket, args.json);
        if (args.test_only || args.dump) {
            // Check configured keys; a missing generated key is not an error.
            if (!cfg.host_keys.empty()) make_bind(feth::server::HostKeys::load(cfg.host_keys), cfg);
            feth::BindPtr check(ssh_bind_new());
            if (!check) throw feth::InputError("ssh_bind_new failed");
            set_algorithms(check.get(), cfg);
            if (args.dump) std::fputs(feth::config::dump_config(cfg).c_str(), stdout);
            return 0;
        }

        ::signal(SIGPIPE, SIG_IGN);
        if (ssh_init() != SSH_OK) throw feth::InputError("libssh initialisation failed");
        ssh_set_log_callback(libssh_log);
        ssh_set_log_level(feth::log::enabled(feth::log::Level::Debug3)   ? SSH_LOG_FUNCTIONS
                          : feth::log::enabled(feth::log::Level::Debug2) ? SSH_LOG_PROTOCOL
                          : feth::log::enabled(feth::log::Level::Debug1) ? SSH_LOG_WARN
                                                                         : SSH_LOG_NOLOG);
        if (::geteuid() != 0)
            LOG_INFO("Not running as root: creating tunnel devices will probably fail (EPERM).");
        else
            feth::sweep_leftover_devices(); // pairs of tunnels whose process died (device.hpp)

        auto identity = feth::server::prepare_privsep(cfg);
        auto settings_from = [&args, log_opts](feth::config::ServerConfig c) mutable {
            auto keys = feth::server::HostKeys::load(feth::server::resolve_host_keys(c.host_keys, args.state_dir));
            auto bind = make_bind(keys, c);
            feth::server::ServerSettings s{std::move(c), std::move(bind), std::move(keys)};
            if (args.debug == 0) {
                log_opts.level = s.config.log_level;
                feth::log::configure(log_opts);
            }
            return s;
        };
        feth::server::ServerSettings settings = settings_from(std::move(cfg));
        // SIGHUP: the same sources again (command line, then the file).
        auto reload = [&] { return settings_from(load_config(args)); };
        if (!args.foreground) feth::detach_from_terminal("daemonize");
        int status = feth::server::run_listener(std::move(settings), reload, identity);
        ssh_finalize();
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "feth-sshd: %s\n", e.what());
        if (!log_opts.to_stderr) LOG_FATAL("%s", e.what());
        return 255;
    }
}
