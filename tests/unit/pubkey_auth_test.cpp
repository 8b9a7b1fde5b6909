// server/pubkey_auth: what the monitor checks before it verifies a user
// signature, and the exact bytes it verifies it over (RFC 4252 section 7).
#include "server/pubkey_auth.hpp"

#include <libssh/libssh.h>

#include <string>
#include <vector>

#include "catch.hpp"
#include "tunnel/ssh_handles.hpp"

using feth::KeyPtr;
using namespace feth::server;

namespace {

KeyPtr generate(ssh_keytypes_e type, int bits)
{
    ssh_key raw = nullptr;
    ssh_pki_ctx ctx = ssh_pki_ctx_new();
    REQUIRE(ctx != nullptr);
    if (bits != 0) REQUIRE(ssh_pki_ctx_options_set(ctx, SSH_PKI_OPTION_RSA_KEY_SIZE, &bits) == SSH_OK);
    const int rc = ssh_pki_generate_key(type, ctx, &raw);
    SSH_PKI_CTX_FREE(ctx);
    REQUIRE(rc == SSH_OK);
    return KeyPtr(raw);
}

std::vector<std::uint8_t> bytes(const std::string& s)
{
    return {s.begin(), s.end()};
}

} // namespace

TEST_CASE("login names: empty, too long, NUL and control bytes are refused")
{
    CHECK(login_name_problem("root").empty());
    CHECK(login_name_problem("j\xc3\xbcrgen").empty()); // UTF-8 stays
    CHECK(login_name_problem(std::string(255, 'a')).empty());
    CHECK(login_name_problem("") == "is empty");
    CHECK(login_name_problem(std::string(256, 'a')) == "is longer than 255 bytes");
    CHECK(login_name_problem(std::string("root\0x", 6)) == "contains a NUL byte");
    CHECK(login_name_problem("root\nFake log line") == "contains a control byte");
    CHECK(login_name_problem("root\x7f") == "contains a control byte");
}

TEST_CASE("user key algorithms: only ours, and only for the key's own type")
{
    KeyPtr ed = generate(SSH_KEYTYPE_ED25519, 0);
    CHECK(user_key_algorithm_fits("ssh-ed25519", ed.get()));
    CHECK_FALSE(user_key_algorithm_fits("rsa-sha2-256", ed.get()));
    CHECK_FALSE(user_key_algorithm_fits("ssh-ed25519,rsa-sha2-256", ed.get()));
    CHECK(user_key_type_accepted(ed.get()));

    KeyPtr rsa = generate(SSH_KEYTYPE_RSA, 2048);
    CHECK(user_key_algorithm_fits("rsa-sha2-256", rsa.get()));
    CHECK(user_key_algorithm_fits("rsa-sha2-512", rsa.get()));
    CHECK_FALSE(user_key_algorithm_fits("ssh-rsa", rsa.get())); // SHA-1
    CHECK_FALSE(user_key_algorithm_fits("ssh-ed25519", rsa.get()));

    KeyPtr ec = generate(SSH_KEYTYPE_ECDSA_P256, 0);
    CHECK(user_key_algorithm_fits("ecdsa-sha2-nistp256", ec.get()));
    CHECK_FALSE(user_key_algorithm_fits("ecdsa-sha2-nistp384", ec.get()));
    CHECK_FALSE(user_key_algorithm_fits("", ec.get()));
    CHECK_FALSE(user_key_algorithm_fits("ssh-ed25519", nullptr));
}

TEST_CASE("the signed data is RFC 4252's, built from the monitor's own values")
{
    const auto data = userauth_signed_data("SID", "u", "ssh-connection", "publickey", "ssh-ed25519", "KB", "ignored");
    std::vector<std::uint8_t> want = {0, 0, 0, 3, 'S', 'I', 'D', 50, 0, 0, 0, 1, 'u'};
    auto add = [&want](const std::string& s) {
        want.insert(want.end(), {0, 0, 0, static_cast<std::uint8_t>(s.size())});
        want.insert(want.end(), s.begin(), s.end());
    };
    add("ssh-connection");
    add("publickey");
    want.push_back(1);
    add("ssh-ed25519");
    add("KB");
    CHECK(data == want); // the host key blob belongs to the hostbound method only

    const auto hostbound = userauth_signed_data("SID", "u", "ssh-connection",
                                                "publickey-hostbound-v00@openssh.com", "ssh-ed25519", "KB", "HK");
    REQUIRE(hostbound.size() > 6);
    CHECK(std::vector<std::uint8_t>(hostbound.end() - 6, hostbound.end()) == bytes(std::string("\0\0\0\2HK", 6)));
}

TEST_CASE("public_key_blob is the key's wire form")
{
    KeyPtr ed = generate(SSH_KEYTYPE_ED25519, 0);
    const std::string blob = public_key_blob(ed.get());
    REQUIRE(blob.size() == 4 + 11 + 4 + 32);
    CHECK(blob.substr(4, 11) == "ssh-ed25519");
}
