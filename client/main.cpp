// feth-ssh: ssh -w for tunnels that stay up. The command line and the
// configuration follow ssh's, so that a user of ssh needs no new habits.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "config/client_config.hpp"
#include "tunnel/error.hpp"
#include "tunnel/log.hpp"
#include "tunnel/ssh_algorithms.hpp"
#include "tunnel_client.hpp"

namespace {

struct Args {
    bool ipv4 = false;
    bool ipv6 = false;
    std::string port;
    std::string login;
    std::vector<std::string> identities;
    std::string config_file;
    std::vector<std::string> options;
    std::string tunnel_device;
    std::string cipher;
    int verbose = 0;
    bool background = false;
    bool reconnect = false;
    bool habit = false; // -N, -T: what feth-ssh always does
    bool quiet = false;
    bool dump_config = false; // -G
    std::string bind_address;  // -b
    std::string destination;
};

struct LocalUser {
    std::string name;
    std::string home;
};

LocalUser local_user()
{
    struct passwd* pw = ::getpwuid(::getuid());
    LocalUser u{pw != nullptr ? pw->pw_name : "root", pw != nullptr ? pw->pw_dir : "/"};
    if (const char* h = ::getenv("HOME"); h != nullptr && *h != '\0') u.home = h;
    return u;
}

// -G: as ssh -G, without root, without a device, without connecting.
int print_config(const feth::config::ClientConfig& raw, const feth::config::ClientConfig& resolved,
                 const std::string& host)
{
    std::string text = feth::config::dump_client_config(raw, resolved, host);
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0 ? 0 : 255;
}

} // namespace

int main(int argc, char** argv)
{
    Args a;
    CLI::App app{"feth-ssh: an SSH tunnel (ssh -w) to a server with PermitTunnel, that can survive network loss.\n"
                 "Tunnel mode defaults to ethernet (unlike ssh's point-to-point): -o Tunnel=point-to-point for IP only.",
                 "feth-ssh"};
    app.set_help_flag("--help", "Print this help and exit");
    // The libssh it runs on decides which algorithms it offers (ML-KEM and
    // sntrup761 need 0.12): say which.
    app.set_version_flag("--version", std::string("feth-ssh ") + FETH_VERSION + " (libssh " + ssh_version(0) + ")");
    app.add_flag("-4", a.ipv4, "Use IPv4 addresses only");
    app.add_flag("-6", a.ipv6, "Use IPv6 addresses only");
    app.add_option("-p", a.port, "Port to connect to on the remote host")->type_name("PORT");
    app.add_option("-l", a.login, "User to log in as on the remote machine")->type_name("USER");
    app.add_option("-i", a.identities, "Identity (private key) file; repeatable")->type_name("FILE");
    app.add_option("-F", a.config_file, "Per-user configuration file (default ~/.ssh/config)")->type_name("FILE");
    app.add_option("-o", a.options, "Option in ssh_config format, e.g. -o ServerAliveInterval=10")
        ->type_name("OPTION");
    app.add_option("-w", a.tunnel_device, "Tunnel devices local[:remote]: a unit number or 'any' (default any:any)")
        ->type_name("LOCAL[:REMOTE]");
    app.add_option("-c", a.cipher, "Cipher specification, as ssh's -c (e.g. chacha20-poly1305@openssh.com)")
        ->type_name("CIPHERS");
    app.add_flag("-v", a.verbose, "Verbose mode; repeat for more (up to 3)");
    app.add_flag("-f", a.background, "Go to the background once the tunnel is up (and TunnelUpCommand succeeded)");
    app.add_flag("-N,-T", a.habit, "Accepted for ssh habits: feth-ssh never runs a command or allocates a tty");
    app.add_flag("-q", a.quiet, "Quiet mode: only errors");
    app.add_flag("-G", a.dump_config, "Print the effective configuration for the destination (as ssh -G) and exit");
    app.add_option("-b", a.bind_address, "Local address to connect from (BindAddress)")->type_name("BIND_ADDRESS");
    app.add_flag("--reconnect", a.reconnect,
                 "Reconnect after the connection drops, keeping the local device (also: Reconnect yes)");
    app.add_option("destination", a.destination, "[user@]host")->required();
    app.footer("Keywords of its own (ssh_config syntax, or -o): Reconnect, TunnelBackend, TunnelMTU,\n"
               "TunnelUpCommand, TunnelDownCommand, TunnelCommandTimeout. SIGUSR1 logs a status line.\n"
               "See feth-ssh(1).");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 255;
    }

    feth::log::Options lo;
    lo.ident = "feth-ssh";
    lo.level = a.quiet          ? feth::log::Level::Error
               : a.verbose == 0 ? feth::log::Level::Info
               : a.verbose == 1 ? feth::log::Level::Debug1
               : a.verbose == 2 ? feth::log::Level::Debug2
                                : feth::log::Level::Debug3;
    feth::log::configure(lo);
    ::signal(SIGPIPE, SIG_IGN);

    try {
        std::string host = a.destination;
        std::string user_from_dest;
        if (auto at = host.rfind('@'); at != std::string::npos) {
            user_from_dest = host.substr(0, at);
            host = host.substr(at + 1);
        }
        if (host.empty()) throw feth::InputError("no host name given");
        const LocalUser me = local_user();

        feth::client::TunnelOptions opts;
        opts.dest.host_arg = host;
        opts.background = a.background;
        opts.dest.batch_mode = a.background || !::isatty(STDIN_FILENO);
        auto& cfg = opts.dest.config;
        feth::config::ClientConfigParser parser(cfg, host, me.home);
        const auto support = feth::libssh_algorithm_support(feth::config::AlgorithmRole::Client);
        parser.set_algorithm_support(support);
        // Command-line values come first, so they win (ssh's rule).
        if (!user_from_dest.empty()) parser.apply_option("User=" + user_from_dest);
        if (!a.login.empty()) parser.apply_option("User=" + a.login);
        if (!a.port.empty()) parser.apply_option("Port=" + a.port);
        if (a.ipv4 || a.ipv6) parser.apply_option(a.ipv6 && !a.ipv4 ? "AddressFamily=inet6" : "AddressFamily=inet");
        if (!a.tunnel_device.empty()) parser.apply_option("TunnelDevice=" + a.tunnel_device);
        if (a.reconnect) parser.apply_option("Reconnect=yes");
        if (!a.cipher.empty()) parser.apply_option("Ciphers=" + a.cipher);
        if (!a.bind_address.empty()) parser.apply_option("BindAddress=" + a.bind_address);
        for (const auto& i : a.identities) {
            // ssh: a -i file that does not exist is left out, with a warning.
            if (::access(i.c_str(), F_OK) != 0) {
                std::fprintf(stderr, "Warning: Identity file %s not accessible: %s.\n", i.c_str(), std::strerror(errno));
                continue;
            }
            parser.apply_option("IdentityFile=" + i);
        }
        for (const auto& o : a.options) parser.apply_option(o);
        auto read_files = [&] {
            if (!a.config_file.empty()) parser.apply_file(a.config_file, true);
            else parser.apply_file(me.home + "/.ssh/config", false);
        };
        read_files();
        if (parser.wants_final_pass()) {
            parser.begin_final_pass();
            read_files();
        }
        const feth::config::ClientConfig raw_cfg = cfg;
        feth::config::resolve_defaults(cfg, host, me.name, me.home, support);
        if (a.dump_config) return print_config(raw_cfg, cfg, host);
        if (a.verbose == 0 && !a.quiet && cfg.log_level) {
            if (auto lvl = feth::log::parse_level(*cfg.log_level)) {
                lo.level = *lvl;
                feth::log::configure(lo);
            }
        }
        if (!cfg.tunnel) throw feth::InputError("Tunnel is set to no: nothing to do");
        if (*cfg.batch_mode) opts.dest.batch_mode = true;

        if (ssh_init() != SSH_OK) throw feth::InputError("libssh initialisation failed");
        int status = feth::client::run_tunnel(opts);
        ssh_finalize();
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "feth-ssh: %s\n", e.what());
        return 255;
    }
}
