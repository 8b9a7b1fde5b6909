#include "control_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/error.hpp"
#include "base/log.hpp"
#include "client/peer_uid.hpp"

namespace feth::client {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRequestDeadlineMs = 1000; // a local client says what it wants at once
constexpr std::size_t kMaxRequest = 64;
constexpr std::size_t kMaxAnswer = 4096;
constexpr std::size_t kMaxRemovalNote = 2048; // "dev ino /absolute/path"

sockaddr_un socket_address(const std::string& path)
{
    sockaddr_un sun{};
    if (path.size() >= sizeof sun.sun_path)
        throw InputError("ControlPath \"" + path + "\" too long for Unix domain socket");
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), path.size());
    return sun;
}

std::string json_string(const std::string& s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// The directory must be writable by its owner only (the user or root), so
// nobody else can swap the socket for theirs.
void check_directory(const std::string& path, uid_t owner)
{
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) throw SystemError("ControlPath " + path + ": directory " + dir, "stat", errno);
    if (!S_ISDIR(st.st_mode)) throw InputError("ControlPath " + path + ": " + dir + " is not a directory");
    if ((st.st_uid != owner && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw InputError("ControlPath " + path + ": the directory " + dir + " (uid " + std::to_string(st.st_uid) +
                         ", mode " + mode + ") may be written by others: use one only you can write, e.g. ~/.ssh");
    }
}

// Whether a master answers at `path` (connect succeeds).
bool master_alive(const sockaddr_un& sun)
{
    UniqueFd fd = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::blocking);
    return fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof sun) == 0;
}

// Reads one request line within the deadline; empty on a timeout or junk.
std::string read_request(int fd)
{
    std::string line;
    const auto until = Clock::now() + std::chrono::milliseconds(kRequestDeadlineMs);
    while (line.size() < kMaxRequest) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        if (left <= 0) return {};
        struct pollfd p {fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return {};
        char buf[kMaxRequest];
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return {};
        for (ssize_t i = 0; i < r; ++i) {
            if (buf[i] == '\n') return line;
            line += buf[i];
        }
    }
    return {};
}

void send_answer(int fd, const std::string& text)
{
    std::size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::send(fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; // the client went away: nothing to do about it
        off += static_cast<std::size_t>(n);
    }
}

} // namespace

std::string render_control_status(const ControlStatus& s, long pid, bool json)
{
    auto u = [](std::uint64_t v) { return std::to_string(v); };
    if (json)
        return "{\"pid\":" + std::to_string(pid) + ",\"device\":" + json_string(s.device) +
               ",\"mode\":" + json_string(s.mode) + ",\"peer\":" + json_string(s.peer) +
               ",\"connected\":" + (s.connected ? "true" : "false") + ",\"uptime_s\":" + u(s.uptime_s) +
               ",\"bytes_out\":" + u(s.bytes_out) + ",\"bytes_in\":" + u(s.bytes_in) +
               ",\"frames_out\":" + u(s.frames_out) + ",\"frames_in\":" + u(s.frames_in) +
               ",\"reconnects\":" + u(s.reconnects) + ",\"dropped_while_down\":" + u(s.dropped_while_down) + "}\n";
    std::string out = "pid " + std::to_string(pid) + "\ndevice " + s.device + " (" + s.mode + ")\npeer " + s.peer +
                      "\n";
    out += s.connected ? "state up " + u(s.uptime_s) + " s\n" : std::string("state reconnecting\n");
    out += "bytes out " + u(s.bytes_out) + " in " + u(s.bytes_in) + "\nframes out " + u(s.frames_out) + " in " +
           u(s.frames_in) + "\nreconnects " + u(s.reconnects) + "\n";
    return out;
}

ControlServer::ControlServer(const std::string& path, uid_t owner) : path_(path), owner_(owner)
{
    const sockaddr_un sun = socket_address(path);
    check_directory(path, owner);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw InputError("ControlPath " + path + " exists and is not a socket");
        if (master_alive(sun)) throw ControlSocketBusy("ControlSocket " + path + " already exists, disabling multiplexing");
        ::unlink(path.c_str()); // the socket of a master that is gone
    }
    listener_ = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::nonblocking);
    if (!listener_) throw_errno("ControlPath " + path, "socket");
    const mode_t old = ::umask(0177); // the socket is made 0600 from the start
    const int rc = ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof sun);
    const int err = errno;
    ::umask(old);
    if (rc != 0) throw SystemError("ControlPath " + path, "bind", err);
    if (::chmod(path.c_str(), 0600) != 0 || ::listen(listener_.get(), 8) != 0) {
        const int e = errno;
        ::unlink(path.c_str());
        throw SystemError("ControlPath " + path, "listen", e);
    }
    LOG_VERBOSE("control socket %s: listening", path.c_str());
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop()
{
    if (!listener_) return;
    listener_.reset();
    ::unlink(path_.c_str());
}

ControlServer::Request ControlServer::serve(const std::function<ControlStatus()>& status)
{
    UniqueFd client = accept_socket(listener_.get(), nullptr, nullptr, IoMode::blocking);
    if (!client) return Request::None; // gone before we looked, or EAGAIN
    const auto uid = peer_uid(client.get());
    if (!uid || (*uid != 0 && *uid != owner_)) {
        LOG_ERROR("control socket %s: refused a client with uid %s (neither root nor %u)", path_.c_str(),
                  uid ? std::to_string(*uid).c_str() : "unknown", static_cast<unsigned>(owner_));
        return Request::None;
    }
    timeval tv{1, 0};
    ::setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const std::string req = read_request(client.get());
    const long pid = static_cast<long>(::getpid());
    LOG_DEBUG("control socket: request \"%s\" from uid %u", req.c_str(), static_cast<unsigned>(*uid));
    if (req == "check") {
        send_answer(client.get(), "Master running (pid=" + std::to_string(pid) + ")\n");
    } else if (req == "status" || req == "status json") {
        send_answer(client.get(), render_control_status(status(), pid, req == "status json"));
    } else if (req == "exit") {
        send_answer(client.get(), "Exit request sent.\n");
        LOG_INFO("Exit requested through the control socket %s", path_.c_str());
        return Request::Exit;
    } else if (req == "stop") {
        send_answer(client.get(), "Stop listening request sent.\n");
        LOG_INFO("Stopped listening on the control socket %s (-O stop)", path_.c_str());
        return Request::Stop;
    } else {
        send_answer(client.get(), "error: unsupported request\n");
    }
    return Request::None;
}

void name_for_removal(const ControlServer& server, int pipe_fd)
{
    struct stat st {};
    if (::lstat(server.path().c_str(), &st) != 0) return;
    // Absolute: the root part may have moved to / by then (-f).
    std::string path = server.path();
    if (path.front() != '/') {
        char cwd[1024];
        if (::getcwd(cwd, sizeof cwd) == nullptr) return;
        path = std::string(cwd) + "/" + path;
    }
    const std::string note = std::to_string(st.st_dev) + " " + std::to_string(st.st_ino) + " " + path;
    // One write into an empty pipe, read whole by one read.
    if (note.size() > kMaxRemovalNote) {
        LOG_ERROR("control socket %s: its path is too long for the root part to remove it", path.c_str());
    } else if (::write(pipe_fd, note.data(), note.size()) != static_cast<ssize_t>(note.size())) {
        LOG_ERROR("control socket %s: cannot hand its removal to the root part: %s", path.c_str(),
                  errno_text(errno).c_str());
    }
}

ControlSocketRemoval::~ControlSocketRemoval()
{
    if (!named_) return;
    char buf[kMaxRemovalNote];
    ssize_t n;
    do n = ::read(named_.get(), buf, sizeof buf);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return; // no socket was made
    const std::string note(buf, static_cast<std::size_t>(n));
    const auto sp1 = note.find(' ');
    const auto sp2 = sp1 == std::string::npos ? sp1 : note.find(' ', sp1 + 1);
    if (sp2 == std::string::npos) return;
    const std::string path = note.substr(sp2 + 1);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) ||
        std::to_string(st.st_dev) != note.substr(0, sp1) || std::to_string(st.st_ino) != note.substr(sp1 + 1, sp2 - sp1 - 1))
        return; // gone already (removed by hand), or another master's
    if (::unlink(path.c_str()) != 0)
        LOG_ERROR("control socket %s: %s", path.c_str(), errno_text(errno).c_str());
    else
        LOG_DEBUG("control socket %s: removed by the root part", path.c_str());
}

int control_command(const std::string& path, const std::string& command, bool json)
{
    if (command != "check" && command != "exit" && command != "stop" && command != "status")
        throw InputError("Invalid multiplex command: " + command + " (feth-ssh knows check, exit, stop, status)");
    const sockaddr_un sun = socket_address(path);
    UniqueFd fd = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::blocking);
    if (!fd) throw_errno("ControlPath " + path, "socket");
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sun), sizeof sun) != 0) {
        std::fprintf(stderr, "Control socket connect(%s): %s\n", path.c_str(), std::strerror(errno));
        return 255;
    }
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send_answer(fd.get(), command + (command == "status" && json ? " json" : "") + "\n");
    std::string answer;
    char buf[512];
    for (;;) {
        ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.size() > kMaxAnswer) break;
    }
    if (answer.empty() || answer.rfind("error:", 0) == 0) {
        std::fprintf(stderr, "feth-ssh: the master at %s did not answer \"%s\"%s\n", path.c_str(), command.c_str(),
                     answer.empty() ? "" : (": " + answer.substr(0, answer.find('\n'))).c_str());
        return 255;
    }
    std::FILE* out = command == "status" ? stdout : stderr;
    std::fwrite(answer.data(), 1, answer.size(), out);
    return std::fflush(out) == 0 ? 0 : 255;
}

} // namespace feth::client
