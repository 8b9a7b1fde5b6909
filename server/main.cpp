// feth-sshd: an SSH server that carries OpenSSH tunnels (ssh -w) and nothing
// else. Command line in sshd's style.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "config/openssh_syntax.hpp"
#include "config/server_config.hpp"
#include "handover.hpp"
#include "host_keys.hpp"
#include "listener.hpp"
#include "sandbox.hpp"
#include "ssh_bind_setup.hpp"
#include "status.hpp"
#include "base/detach.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/device.hpp"
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
    bool print_sandbox_profile = false;
    std::string state_dir = kDefaultStateDir;
};

// The configuration's sources: the command line's options, then the file
// (read once, here; every program of a connection parses this text).
feth::server::ConfigSource config_source(const Args& args)
{
    feth::server::ConfigSource source;
    for (int p : args.ports) source.options.push_back("Port=" + std::to_string(p));
    for (const auto& k : args.host_keys) source.options.push_back("HostKey=" + k);
    for (const auto& o : args.options) source.options.push_back(o);
    if (args.config_given || ::access(args.config_file.c_str(), F_OK) == 0) {
        source.file_name = args.config_file;
        source.file_text = feth::config::syntax::read_bounded_file(args.config_file, args.config_file);
    }
    return source;
}

// --print-sandbox-profile: the exact text the child's sandbox_init gets,
// for `sandbox-exec -p` to compile. A build whose sandbox is no profile
// (Linux: seccomp) says so and fails, rather than print something else.
int print_sandbox_profile()
{
    const std::string_view profile = feth::server::platform_sandbox_profile();
    if (profile.empty()) {
        std::fputs("feth-sshd: this build's connection sandbox is a seccomp filter, not a Seatbelt profile: "
                   "there is no profile to print\n",
                   stderr);
        return 255;
    }
    std::fwrite(profile.data(), 1, profile.size(), stdout);
    return 0;
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
    app.add_flag("--print-sandbox-profile", args.print_sandbox_profile,
                 "Print the connection sandbox's Seatbelt profile (macOS) and exit");
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

    if (args.print_sandbox_profile) return print_sandbox_profile();

    feth::log::Options log_opts;
    log_opts.ident = "feth-sshd";
    log_opts.to_stderr = args.log_stderr || args.debug > 0 || args.test_only || args.dump;
    feth::log::configure(log_opts);

    try {
        auto source = config_source(args);
        auto cfg = feth::server::parse_config(source);
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
            if (!cfg.host_keys.empty())
                feth::server::make_bind(feth::server::HostKeys::load(cfg.host_keys).public_blobs(), cfg);
            feth::server::check_algorithms(cfg);
            if (args.dump) std::fputs(feth::config::dump_config(cfg).c_str(), stdout);
            return 0;
        }

        ::signal(SIGPIPE, SIG_IGN);
        feth::server::init_libssh();
        // Each connection runs in these, from fresh images: a missing one
        // is an error now, not at the first connection.
        const feth::server::HelperPrograms helpers = feth::server::find_helper_programs(argv[0]);
        if (::geteuid() != 0)
            LOG_INFO("Not running as root: creating tunnel devices will probably fail (EPERM).");
        else
            feth::sweep_leftover_devices(); // pairs of tunnels whose process died (device.hpp)

        auto identity = feth::server::prepare_privsep(cfg);
        auto settings_from = [&args, log_opts](feth::server::ConfigSource src, feth::config::ServerConfig c) mutable {
            auto keys = feth::server::HostKeys::load(feth::server::resolve_host_keys(c.host_keys, args.state_dir));
            // What the network program will build: checked here, once.
            feth::server::make_bind(keys.public_blobs(), c);
            feth::server::ServerSettings s{std::move(c), std::move(src), std::move(keys)};
            if (args.debug == 0) {
                log_opts.level = s.config.log_level;
                feth::log::configure(log_opts);
            }
            return s;
        };
        feth::server::ServerSettings settings = settings_from(source, std::move(cfg));
        // SIGHUP: the same sources again (command line, then the file).
        auto reload = [&] {
            auto src = config_source(args);
            auto c = feth::server::parse_config(src);
            return settings_from(std::move(src), std::move(c));
        };
        if (!args.foreground) feth::detach_from_terminal("daemonize");
        feth::server::ListenerPrograms programs{helpers, log_opts.to_stderr, args.debug > 0};
        int status = feth::server::run_listener(std::move(settings), reload, identity, programs);
        ssh_finalize();
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "feth-sshd: %s\n", e.what());
        if (!log_opts.to_stderr) LOG_FATAL("%s", e.what());
        return 255;
    }
}
