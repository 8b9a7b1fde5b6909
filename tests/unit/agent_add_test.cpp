// AddKeysToAgent's agent messages against a real ssh-agent: each key type
// added (plain, with a lifetime, with confirmation) is then listed by
// ssh-add -l under its fingerprint and comment.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <libssh/libssh.h>

#include "catch.hpp"
#include "client/agent_add.hpp"
#include "base/fd.hpp"

using feth::UniqueFd;

namespace {

bool have(const char* program)
{
    const std::string cmd = std::string("command -v ") + program + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

// ssh-agent -D on a socket in a directory of its own, killed (its pid only)
// and the directory removed at the end.
class Agent {
public:
    Agent()
    {
        char dir[] = "/tmp/feth-agent-test.XXXXXX";
        if (::mkdtemp(dir) == nullptr) return;
        dir_ = dir;
        sock_ = dir_ + "/agent.sock";
        pid_ = ::fork();
        if (pid_ == 0) {
            const int null = ::open("/dev/null", O_WRONLY);
            if (null >= 0) ::dup2(null, 1); // it prints its environment lines
            ::execlp("ssh-agent", "ssh-agent", "-D", "-a", sock_.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        // Ready once it accepts a connection: the socket file appears at
        // bind(), before listen(), and a connect() in between is refused
        // (the test's rare "REQUIRE(fd)" failure under load).
        for (int i = 0; i < 200 && !ready_; ++i) {
            ready_ = static_cast<bool>(connect());
            if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~Agent()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        if (!dir_.empty()) {
            ::unlink(sock_.c_str());
            ::rmdir(dir_.c_str());
        }
    }
    Agent(const Agent&) = delete;
    Agent& operator=(const Agent&) = delete;
    UniqueFd connect() const
    {
        UniqueFd fd = feth::open_socket(AF_UNIX, SOCK_STREAM, 0, feth::IoMode::blocking);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::strncpy(sun.sun_path, sock_.c_str(), sizeof sun.sun_path - 1);
        if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) return UniqueFd();
        return fd;
    }
    std::string list() const
    {
        const std::string cmd = "SSH_AUTH_SOCK='" + sock_ + "' ssh-add -l 2>&1";
        std::string out;
        if (FILE* p = ::popen(cmd.c_str(), "r")) {
            std::array<char, 512> buf{};
            while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
            ::pclose(p);
        }
        return out;
    }
    bool running() const { return pid_ > 0 && ready_; }

private:
    std::string dir_, sock_;
    pid_t pid_ = -1;
    bool ready_ = false;
};

std::string fingerprint(ssh_key key)
{
    ssh_key pub = nullptr;
    REQUIRE(ssh_pki_export_privkey_to_pubkey(key, &pub) == SSH_OK);
    unsigned char* hash = nullptr;
    size_t len = 0;
    REQUIRE(ssh_get_publickey_hash(pub, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) == 0);
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
    std::string out = fp != nullptr ? fp : "";
    ssh_string_free_char(fp);
    ssh_clean_pubkey_hash(&hash);
    ssh_key_free(pub);
    return out;
}

} // namespace

TEST_CASE("AddKeysToAgent: each key type reaches a real ssh-agent", "[agent]")
{
    if (!have("ssh-agent") || !have("ssh-add")) {
        WARN("skipped: ssh-agent or ssh-add is not installed");
        return;
    }
    Agent agent;
    REQUIRE(agent.running());
    struct Case {
        ssh_keytypes_e type;
        int bits;
        unsigned lifetime;
        bool confirm;
        const char* comment;
    };
    const Case cases[] = {
        {SSH_KEYTYPE_ED25519, 0, 0, false, "/home/u/.ssh/id_ed25519"},
        {SSH_KEYTYPE_ECDSA_P256, 256, 3600, false, "/home/u/.ssh/id_ecdsa"},
        {SSH_KEYTYPE_RSA, 2048, 0, true, "/home/u/.ssh/id_rsa"},
    };
    for (const auto& c : cases) {
        ssh_key key = nullptr;
        ssh_pki_ctx ctx = ssh_pki_ctx_new();
        REQUIRE(ctx != nullptr);
        if (c.type == SSH_KEYTYPE_RSA) {
            int bits = c.bits;
            REQUIRE(ssh_pki_ctx_options_set(ctx, SSH_PKI_OPTION_RSA_KEY_SIZE, &bits) == SSH_OK);
        }
        const int rc = ssh_pki_generate_key(c.type, ctx, &key);
        SSH_PKI_CTX_FREE(ctx);
        REQUIRE(rc == SSH_OK);
        const std::string fp = fingerprint(key);
        const std::string msg = feth::client::agent_add_identity_message(key, c.comment, c.lifetime, c.confirm);
        // uint32 length, then 17 (plain) or 25 (constrained).
        REQUIRE(msg.size() > 5);
        CHECK(static_cast<unsigned char>(msg[4]) == (c.lifetime != 0 || c.confirm ? 25 : 17));
        UniqueFd fd = agent.connect();
        REQUIRE(fd);
        std::string error;
        CHECK(feth::client::agent_request(fd.get(), msg, error));
        CHECK(error.empty());
        const std::string listed = agent.list();
        INFO(listed);
        CHECK(listed.find(fp) != std::string::npos);
        CHECK(listed.find(c.comment) != std::string::npos);
        ssh_key_free(key);
    }
}

TEST_CASE("AddKeysToAgent: a broken answer is an error, not a hang", "[agent]")
{
    UniqueFd ours, theirs;
    REQUIRE(feth::open_socketpair(AF_UNIX, SOCK_STREAM, feth::IoMode::blocking, ours, theirs) == 0);
    // An "agent" that answers with a length of 4 GiB.
    const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff};
    REQUIRE(::write(theirs.get(), huge, sizeof huge) == static_cast<ssize_t>(sizeof huge));
    std::string error;
    CHECK_FALSE(feth::client::agent_request(ours.get(), std::string("\0\0\0\1\x11", 5), error));
    CHECK(error.find("length") != std::string::npos);
    // One that refuses (SSH_AGENT_FAILURE, 5).
    const unsigned char refuse[] = {0, 0, 0, 1, 5};
    REQUIRE(::write(theirs.get(), refuse, sizeof refuse) == static_cast<ssize_t>(sizeof refuse));
    error.clear();
    CHECK_FALSE(feth::client::agent_request(ours.get(), std::string("\0\0\0\1\x11", 5), error));
    CHECK(error.find("refused") != std::string::npos);
    // One that closes.
    theirs.reset();
    error.clear();
    CHECK_FALSE(feth::client::agent_request(ours.get(), std::string("\0\0\0\1\x11", 5), error));
    CHECK_FALSE(error.empty());
}
