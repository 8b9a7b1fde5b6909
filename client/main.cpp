// feth-ssh: ssh -w for tunnels that stay up. The command line and the
// configuration follow ssh's, so that a user of ssh needs no new habits.
#include <pwd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "config/client_config.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "tunnel/ssh_algorithms.hpp"
#include "control_socket.hpp"
#include "match_exec.hpp"
#include "privsep.hpp"
#include "proxy.hpp"
#include "run_dir.hpp"
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
    std::string jump; // -J
    int verbose = 0;
    bool background = false;
    bool reconnect = false;
    bool habit = false; // -N, -T: what feth-ssh always does
    bool quiet = false;
    bool dump_config = false; // -G
    std::string bind_address;  // -b
    std::string control_path;    // -S
    std::string control_command; // -O
    bool json = false;           // -O status --json
    std::string destination;
};

// Options and configuration, read as the local user `me` (the SSH part's
// identity under privilege separation): command line first, then the
// configuration file, as ssh does.
// `raw`, when given, receives the configuration as read, before ssh's
// defaults (what -G needs to print ssh's way).
feth::client::TunnelOptions read_options(const Args& a, const feth::client::Invoker& me, feth::log::Options& lo,
                                         feth::config::ClientConfig* raw = nullptr)
{
    std::string host = a.destination;
    std::string user_from_dest;
    if (auto at = host.rfind('@'); at != std::string::npos) {
        user_from_dest = host.substr(0, at);
        host = host.substr(at + 1);
    }
    if (host.empty()) throw feth::InputError("no host name given");

    feth::client::TunnelOptions opts;
    opts.dest.host_arg = host;
    opts.background = a.background;
    opts.dest.batch_mode = a.background || !::isatty(STDIN_FILENO);
    opts.dest.config_file = a.config_file; // for ProxyJump's ssh, as ssh passes -F down
    opts.dest.verbose = a.verbose;
    auto& cfg = opts.dest.config;
    feth::config::ClientConfigParser parser(cfg, host, me.home, me.name);
    const auto support = feth::libssh_algorithm_support(feth::config::AlgorithmRole::Client);
    parser.set_algorithm_support(support);
    // Match exec runs commands as the configuration's owner only: not the
    // sudo user's commands in a process that is still root (-G under sudo).
    if (me.kind != feth::client::Invoker::Kind::User || ::geteuid() == me.uid)
        parser.set_match_exec(feth::client::run_match_exec);
    else
        parser.set_match_exec([&me](const std::string&) -> int {
            throw feth::InputError("Match exec: " + me.name + "'s command is not run as root (run feth-ssh -G without sudo)");
        });
    // Command-line values come first, so they win (ssh's rule).
    if (!user_from_dest.empty()) parser.apply_option("User=" + user_from_dest);
    if (!a.login.empty()) parser.apply_option("User=" + a.login);
    if (!a.port.empty()) parser.apply_option("Port=" + a.port);
    if (a.ipv4 || a.ipv6) parser.apply_option(a.ipv6 && !a.ipv4 ? "AddressFamily=inet6" : "AddressFamily=inet");
    if (!a.tunnel_device.empty()) parser.apply_option("TunnelDevice=" + a.tunnel_device);
    if (a.reconnect) parser.apply_option("Reconnect=yes");
    if (!a.cipher.empty()) parser.apply_option("Ciphers=" + a.cipher);
    if (!a.bind_address.empty()) parser.apply_option("BindAddress=" + a.bind_address);
    if (!a.control_path.empty()) parser.apply_option("ControlPath=" + a.control_path);
    for (const auto& i : a.identities) {
        // ssh: a -i file that does not exist is left out, with a warning.
        if (::access(i.c_str(), F_OK) != 0) {
            std::fprintf(stderr, "Warning: Identity file %s not accessible: %s.\n", i.c_str(), std::strerror(errno));
            continue;
        }
        parser.apply_option("IdentityFile=" + i);
    }
    if (!a.jump.empty()) parser.apply_option("ProxyJump=" + a.jump);
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
    if (raw != nullptr) *raw = cfg;
    feth::config::resolve_defaults(cfg, host, me.name, me.home, support);
    if (raw != nullptr) return opts;
    if (a.verbose == 0 && !a.quiet && cfg.log_level) {
        if (auto lvl = feth::log::parse_level(*cfg.log_level)) {
            lo.level = *lvl;
            feth::log::configure(lo);
        }
    }
    if (!cfg.tunnel) throw feth::InputError("Tunnel is set to no: nothing to do");
    if (*cfg.batch_mode) opts.dest.batch_mode = true;
    return opts;
}

// ControlMaster with a ControlPath: the socket -O talks to, owned by
// `owner`. Another master already there: without one, as ssh.
std::unique_ptr<feth::client::ControlServer> open_control(const feth::config::ClientConfig& c, uid_t owner)
{
    if (!c.control_path || c.control_master.value_or(feth::config::ControlMaster::No) == feth::config::ControlMaster::No)
        return nullptr;
    try {
        return std::make_unique<feth::client::ControlServer>(*c.control_path, owner);
    } catch (const feth::client::ControlSocketBusy& e) {
        LOG_ERROR("%s", e.what());
        return nullptr;
    }
}

// -O: as ssh -O, to the master at ControlPath (or -S).
int control_client(const Args& a, const feth::client::Invoker& who, feth::log::Options& lo)
{
    feth::config::ClientConfig raw_cfg;
    feth::client::TunnelOptions opts = read_options(a, who, lo, &raw_cfg);
    const auto& path = opts.dest.config.control_path;
    if (!path) throw feth::InputError("No ControlPath specified for \"-O\" command");
    return feth::client::control_command(*path, a.control_command, a.json);
}

int run_client(feth::client::TunnelOptions& opts)
{
    if (ssh_init() != SSH_OK) throw feth::InputError("libssh initialisation failed");
    int status = feth::client::run_tunnel(opts);
    ssh_finalize();
    return status;
}

// Root's identities for the root part's agent (root_agent.hpp), as ssh
// would load them for this destination: IdentityFile (ssh's defaults
// included), CertificateFile; root's agent's keys unless IdentitiesOnly;
// signatures for the destination's user and for each ProxyJump hop's
// (a hop without a user name: root's, as root's own ssh would log in).
feth::client::AgentSetup root_agent_setup(const feth::config::ClientConfig& c, const feth::client::Destination& d)
{
    feth::client::AgentSetup a;
    a.identity_files = c.identity_files;
    a.certificate_files = c.certificate_files;
    a.users = {*c.user};
    if (c.proxy_jump && feth::client::uses_proxy(c))
        for (const auto& hop : feth::client::jump_hop_users(*c.proxy_jump, "root")) a.users.push_back(hop);
    a.real_agent_keys = !*c.identities_only;
    a.add_keys_to_agent = c.add_keys_to_agent.value_or("no");
    a.add_keys_lifetime = static_cast<std::uint32_t>(c.add_keys_to_agent_lifetime.value_or(0));
    a.batch = d.batch_mode;
    return a;
}

// The SSH part (privsep.hpp): becomes the invoker, reads the configuration
// as that user and runs the client with the root part's device.
int ssh_part(const Args& a, const feth::client::Invoker& who, feth::UniqueFd sock, pid_t root_part,
             feth::log::Options& lo, feth::UniqueFd log_pipe, feth::UniqueFd control_removal,
             const std::string& run_dir)
{
    using feth::client::Invoker;
    feth::client::die_with_root_part(root_part);
    // As nobody: root's configuration and known_hosts are read now, while
    // still root and before any network byte; the SSH part keeps private
    // copies. Root's identity files it never reads: the root part holds
    // them and signs as an agent (root_agent.hpp).
    feth::client::TunnelOptions root_opts;
    feth::client::RootSetup setup;
    if (who.kind == Invoker::Kind::Nobody) {
        root_opts = read_options(a, who, lo);
        root_opts.control = open_control(root_opts.dest.config, 0); // root's socket, made before the drop
        if (root_opts.control) feth::client::name_for_removal(*root_opts.control, control_removal.get());
        const auto& c = root_opts.dest.config;
        using feth::client::PrivateCopies;
        auto copies = std::make_shared<PrivateCopies>(PrivateCopies::platform_store(), run_dir, who.uid, who.gid);
        setup.agent = root_agent_setup(c, root_opts.dest);
        setup.agent_bridge = feth::client::uses_proxy(c);
        const auto& kh = *c.user_known_hosts_files;
        for (std::size_t i = 0; i < kh.size(); ++i) copies->add(kh[i], i == 0);
        root_opts.dest.file_copies = copies->paths();
        root_opts.dest.keys_with_root_part = true;
        if (!kh.empty()) {
            setup.known_hosts_path = kh.front();
            // As known_hosts names the host (connect.cpp known_hosts_name).
            setup.known_hosts_name = c.host_key_alias ? *c.host_key_alias
                                     : *c.port == 22  ? *c.host_name
                                                      : "[" + *c.host_name + "]:" + std::to_string(*c.port);
        }
        // The root part takes address lines only as it resolves the name.
        if (c.check_host_ip.value_or(false) && !feth::client::uses_proxy(c)) setup.check_host_ip_port = *c.port;
        if (c.identity_agent && *c.identity_agent != "none" && *c.identity_agent != "SSH_AUTH_SOCK")
            setup.agent_path = *c.identity_agent;
        else if (const char* sock = ::getenv("SSH_AUTH_SOCK"); sock != nullptr && (!c.identity_agent || *c.identity_agent != "none"))
            setup.agent_path = sock;
        if (setup.agent_path.size() >= sizeof(sockaddr_un::sun_path)) setup.agent_path.clear();
        setup.copies = copies;
    }
    control_removal.reset(); // nothing written as the invoker reaches the root part
    feth::client::drop_to_invoker(who);
    feth::client::die_with_root_part(root_part); // a change of uid clears PR_SET_PDEATHSIG
    if (who.kind == Invoker::Kind::User) {
        ::setenv("HOME", who.home.c_str(), 1);
        ::setenv("USER", who.name.c_str(), 1);
        ::setenv("LOGNAME", who.name.c_str(), 1);
    }
    feth::client::TunnelOptions opts =
        who.kind == Invoker::Kind::Nobody ? std::move(root_opts) : read_options(a, who, lo);
    if (who.kind != Invoker::Kind::Nobody) opts.control = open_control(opts.dest.config, who.uid);
    if (who.kind == Invoker::Kind::Nobody)
        LOG_INFO("Started by root without sudo: the SSH part runs as %s (uid %u); root's configuration and "
                 "known_hosts were read before dropping root; root's keys stay with the root part, which signs "
                 "for it as an agent (and reaches root's agent), and new known_hosts lines are written by it.",
                 who.drop_name.c_str(), static_cast<unsigned>(who.uid));
    LOG_DEBUG("the SSH part runs as %s (uid %u); the root part (pid %ld) holds the device", who.drop_name.c_str(),
              static_cast<unsigned>(::getuid()), static_cast<long>(root_part));
    const auto& c = opts.dest.config;
    setup.hooks = {*c.tunnel_up_command, *c.tunnel_down_command, std::chrono::seconds(*c.tunnel_command_timeout)};
    setup.remote_unit = c.tunnel_device->remote;
    setup.user = *c.user;
    setup.host_name = *c.host_name;
    const bool agent_via_root = !setup.agent_path.empty() || !setup.agent.identity_files.empty();
    // Before any network byte: no terminal from here on (the options have
    // been read, batch mode decided from the terminal we had).
    feth::client::leave_terminal(log_pipe.get());
    log_pipe.reset();
    opts.privileged = feth::client::remote_privileged(std::move(sock), std::move(setup));
    {
        feth::client::Privileged* p = opts.privileged.get();
        opts.dest.ask = [p](const std::string& prompt, bool echo) { return p->ask(prompt, echo); };
    }
    if (agent_via_root) {
        feth::client::Privileged* p = opts.privileged.get();
        opts.dest.agent_socket = [p] { return p->agent_socket(); };
    }
    return run_client(opts);
}

pid_t g_forward_to = -1;
extern "C" void forward_signal(int sig)
{
    if (g_forward_to > 0) ::kill(g_forward_to, sig);
}

// Started as root: the root part and the SSH part (privsep.hpp). With -f a
// third process stays in the foreground until the tunnel is up, so that the
// root part's going to the background never takes the SSH part's parent
// away (it dies with its parent).
int run_separated(const Args& a, const feth::client::Invoker& who, feth::log::Options& lo)
{
    feth::UniqueFd detach_wr;
    if (a.background) {
        feth::UniqueFd rd;
        feth::UniqueFd wr;
        if (feth::open_pipe(feth::IoMode::blocking, rd, wr) != 0) feth::throw_errno("-f", "pipe");
        const pid_t waiter = ::getpid();
        pid_t r = ::fork();
        if (r < 0) feth::throw_errno("-f", "fork");
        if (r > 0) {
            wr.reset();
            g_forward_to = r;
            struct sigaction sa {};
            sa.sa_handler = forward_signal;
            for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) ::sigaction(sig, &sa, nullptr);
            char byte = 0;
            ssize_t n;
            do n = ::read(rd.get(), &byte, 1);
            while (n < 0 && errno == EINTR);
            if (n == 1) return 0; // the tunnel is up and the rest is in the background
            int st = 0;
            while (::waitpid(r, &st, 0) < 0 && errno == EINTR) {
            }
            return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
        }
        rd.reset();
#if defined(__linux__)
        ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); // until it goes to the background
#endif
        if (::getppid() != waiter) ::_exit(255);
        detach_wr = std::move(wr);
    }
    // The SSH part's files no other user may reach (run_dir.hpp); it goes
    // when this, the root part, returns.
    const feth::client::RunDir run_dir(who.uid, who.gid);
    feth::UniqueFd root_end;
    feth::UniqueFd ssh_end;
    if (feth::open_socketpair(AF_UNIX, SOCK_STREAM, feth::IoMode::blocking, root_end, ssh_end) != 0)
        feth::throw_errno("privilege separation", "socketpair");
    feth::UniqueFd log_rd;
    feth::UniqueFd log_wr;
    if (feth::open_pipe(feth::IoMode::blocking, log_rd, log_wr) != 0) feth::throw_errno("privilege separation", "pipe");
    feth::UniqueFd removal_rd; // control_socket.hpp ControlSocketRemoval
    feth::UniqueFd removal_wr;
    if (feth::open_pipe(feth::IoMode::nonblocking, removal_rd, removal_wr) != 0)
        feth::throw_errno("privilege separation", "pipe");
    const pid_t root_pid = ::getpid();
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) feth::throw_errno("privilege separation", "fork");
    if (pid == 0) {
        root_end.reset();
        detach_wr.reset();
        log_rd.reset();
        removal_rd.reset();
        int status = 255;
        try {
            status = ssh_part(a, who, std::move(ssh_end), root_pid, lo, std::move(log_wr), std::move(removal_wr),
                              run_dir.path());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "feth-ssh: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(status);
    }
    ssh_end.reset();
    log_wr.reset();
    removal_wr.reset();
    const feth::client::ControlSocketRemoval removal(std::move(removal_rd)); // once the SSH part is gone
    return feth::client::run_root_part(std::move(root_end), pid, std::move(detach_wr), std::move(log_rd), who.uid,
                                       who.gid, run_dir.path());
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
    app.add_option("-J", a.jump, "ProxyJump: connect through jump hosts [user@]host[:port][,...] (or none)")
        ->type_name("DEST");
    app.add_flag("-v", a.verbose, "Verbose mode; repeat for more (up to 3)");
    app.add_flag("-f", a.background, "Go to the background once the tunnel is up (and TunnelUpCommand succeeded)");
    app.add_flag("-N,-T", a.habit, "Accepted for ssh habits: feth-ssh never runs a command or allocates a tty");
    app.add_flag("-q", a.quiet, "Quiet mode: only errors");
    app.add_flag("-G", a.dump_config, "Print the effective configuration for the destination (as ssh -G) and exit");
    app.add_option("-b", a.bind_address, "Local address to connect from (BindAddress)")->type_name("BIND_ADDRESS");
    app.add_option("-S", a.control_path, "Control socket path (ControlPath), e.g. ~/.ssh/cm-%C")->type_name("CTL_PATH");
    app.add_option("-O", a.control_command, "Ask the running feth-ssh at ControlPath: check, exit, stop or status")
        ->type_name("CTL_CMD");
    app.add_flag("--json", a.json, "With -O status: one JSON object");
    app.add_flag("--reconnect", a.reconnect,
                 "Reconnect after any failure but your own mistake, keeping the local device (also: Reconnect yes)");
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
        const feth::client::Invoker who = feth::client::find_invoker();
        // -G reads the configuration as the invoker would and prints it:
        // no device, no network, nothing that needs root.
        if (a.dump_config) {
            feth::config::ClientConfig raw_cfg;
            feth::client::TunnelOptions opts = read_options(a, who, lo, &raw_cfg);
            return print_config(raw_cfg, opts.dest.config, opts.dest.host_arg);
        }
        if (!a.control_command.empty()) return control_client(a, who, lo);
        if (who.kind != feth::client::Invoker::Kind::Self) return run_separated(a, who, lo);
        feth::client::TunnelOptions opts = read_options(a, who, lo);
        opts.control = open_control(opts.dest.config, ::getuid());
        return run_client(opts);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "feth-ssh: %s\n", e.what());
        return 255;
    }
}
