// Host certificates (client/host_cert, client/host_key_check): made by
// ssh-keygen at test time, parsed and checked as ssh checks them; a
// tampered or truncated certificate is refused, never a crash.
#include "client/host_cert.hpp"
#include "client/host_key_check.hpp"

#include <libssh/libssh.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "config/known_hosts_hash.hpp"

using namespace feth;
using namespace feth::client;

namespace {

constexpr const char* kHost = "host.example";

struct KeyDir {
    std::filesystem::path dir;
    KeyDir()
    {
        char tmpl[] = "/tmp/feth-host-cert-XXXXXX";
        const char* made = ::mkdtemp(tmpl);
        if (made == nullptr) throw std::runtime_error("mkdtemp failed");
        dir = made;
        keygen("-t ed25519 -f " + path("ca"));
        keygen("-t ed25519 -f " + path("host"));
    }
    ~KeyDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    KeyDir(const KeyDir&) = delete;
    KeyDir& operator=(const KeyDir&) = delete;

    std::string path(const std::string& name) const { return (dir / name).string(); }
    void keygen(const std::string& args) const
    {
        const std::string cmd = "ssh-keygen -q -N '' " + args + " >/dev/null 2>&1 </dev/null";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    }
    // The blob of host.pub certified by `ca` with ssh-keygen's `options`.
    std::string certify(const std::string& name, const std::string& options, const std::string& ca = "ca") const
    {
        std::filesystem::copy_file(path("host.pub"), path(name + ".pub"),
                                   std::filesystem::copy_options::overwrite_existing);
        keygen("-s " + path(ca) + " -I e2e " + options + " " + path(name + ".pub"));
        ssh_key key = nullptr;
        if (ssh_pki_import_cert_file(path(name + "-cert.pub").c_str(), &key) != SSH_OK)
            throw std::runtime_error("cannot read " + name + "-cert.pub");
        KeyPtr cert(key);
        ssh_string blob = nullptr;
        if (ssh_pki_export_pubkey_blob(cert.get(), &blob) != SSH_OK) throw std::runtime_error("no blob");
        std::string out(static_cast<const char*>(ssh_string_data(blob)), ssh_string_len(blob));
        ssh_string_free(blob);
        return out;
    }
    KeyPtr public_key(const std::string& name) const
    {
        ssh_key key = nullptr;
        if (ssh_pki_import_pubkey_file(path(name + ".pub").c_str(), &key) != SSH_OK)
            throw std::runtime_error("cannot read " + name + ".pub");
        return KeyPtr(key);
    }
    std::string public_line(const std::string& name) const
    {
        std::ifstream in(path(name + ".pub"));
        std::string line;
        std::getline(in, line);
        return line;
    }
};

std::uint64_t now() { return static_cast<std::uint64_t>(std::time(nullptr)); }

// parse + signature + host checks, as connect.cpp runs them: "" accepted.
std::string check(const std::string& blob, const std::string& name = kHost)
{
    std::string why;
    const auto cert = parse_host_certificate(blob, why);
    if (!cert) return "parse: " + why;
    why = certificate_signature_problem(*cert);
    if (!why.empty()) return "signature: " + why;
    return certificate_host_problem(*cert, name, now());
}

} // namespace

TEST_CASE("host certificate: ssh-keygen's certificates checked as ssh checks them", "[host_cert]")
{
    KeyDir k;
    const std::string valid =
        k.certify("valid", "-h -n other.example,*.wild.example," + std::string(kHost) + " -V -5m:+1h");
    CHECK(check(valid) == "");
    CHECK(check(valid, "a.wild.example") == ""); // principals are patterns for hosts
    CHECK(check(valid, "nothost.example") == "Certificate invalid: name is not a listed principal");
    CHECK(check(valid, "host.example:22") == "Certificate invalid: name is not a listed principal");

    std::string why;
    const auto cert = parse_host_certificate(valid, why);
    REQUIRE(cert);
    CHECK(cert->principals == std::vector<std::string>{"other.example", "*.wild.example", kHost});
    CHECK(cert->type == kHostCertificate);
    // The plain key inside is the host key itself.
    KeyPtr plain = key_from_blob(cert->plain_key);
    REQUIRE(plain);
    CHECK(ssh_key_cmp(plain.get(), k.public_key("host").get(), SSH_KEY_CMP_PUBLIC) == 0);
    KeyPtr ca = key_from_blob(cert->ca_key);
    REQUIRE(ca);
    CHECK(ssh_key_cmp(ca.get(), k.public_key("ca").get(), SSH_KEY_CMP_PUBLIC) == 0);

    CHECK(check(k.certify("wrong", "-h -n other.example")) == "Certificate invalid: name is not a listed principal");
    CHECK(check(k.certify("expired", "-h -n host.example -V 20000101:20000102")) == "Certificate invalid: expired");
    CHECK(check(k.certify("future", "-h -n host.example -V +1d:+2d")) == "Certificate invalid: not yet valid");
    CHECK(check(k.certify("user", "-n host.example")) == "Certificate invalid: not a host certificate");
    CHECK(check(k.certify("critical", "-h -n host.example -O force-command=/bin/true")) ==
          "Certificate contains unsupported critical options");
    CHECK(check(k.certify("noprincipal", "-h")) == "Certificate lacks principal list");

    // A CA signing with ssh-rsa (SHA-1), which CASignatureAlgorithms'
    // default does not allow: the signature verifies, the algorithm is
    // refused.
    k.keygen("-t rsa -b 1024 -f " + k.path("rsa_ca"));
    const std::string sha1 = k.certify("sha1", "-h -n host.example -t ssh-rsa", "rsa_ca");
    CHECK(check(sha1) == "Certificate signed with disallowed algorithm");
    CHECK(check(k.certify("sha512", "-h -n host.example -t rsa-sha2-512", "rsa_ca")) == "");
}

TEST_CASE("host certificate: every flipped byte and every truncation is refused, never a crash", "[host_cert]")
{
    KeyDir k;
    const std::string valid = k.certify("valid", "-h -n host.example");
    REQUIRE(check(valid) == "");
    std::string why;
    const auto cert = parse_host_certificate(valid, why);
    REQUIRE(cert);
    // The signature covers everything before it; the signature itself is
    // the CA's: no byte can change without the certificate failing.
    for (std::size_t i = 0; i < valid.size(); ++i) {
        for (const unsigned char flip : {0x01, 0x80}) {
            std::string tampered = valid;
            tampered[i] = static_cast<char>(static_cast<unsigned char>(tampered[i]) ^ flip);
            std::string problem;
            const auto parsed = parse_host_certificate(tampered, problem);
            if (parsed) problem = certificate_signature_problem(*parsed);
            INFO("byte " << i << " of " << valid.size() << " xor " << int(flip));
            CHECK(!problem.empty());
        }
    }
    for (std::size_t len = 0; len < valid.size(); ++len) {
        INFO("first " << len << " bytes");
        CHECK_FALSE(parse_host_certificate(valid.substr(0, len), why));
    }
    CHECK_FALSE(parse_host_certificate(valid + '\0', why));
    CHECK(why == "data after the signature");
    // Lengths that claim more than there is, at the largest values.
    CHECK_FALSE(parse_host_certificate(std::string("\xff\xff\xff\xff", 4) + valid, why));
    CHECK_FALSE(parse_host_certificate(std::string(4, '\0'), why));
    // Another certificate's signature over this one's body.
    const std::string other = k.certify("other", "-h -n other.example");
    const auto other_cert = parse_host_certificate(other, why);
    REQUIRE(other_cert);
    auto spliced = *cert;
    spliced.signature = other_cert->signature;
    CHECK(certificate_signature_problem(spliced) == "the CA signature does not verify");
}

TEST_CASE("host certificate: @cert-authority lines name the CA for a host; the plain key is looked up as libssh does",
          "[host_cert]")
{
    KeyDir k;
    k.keygen("-t ed25519 -f " + k.path("other_ca"));
    const std::string kh = k.path("known_hosts");
    {
        std::ofstream out(kh);
        out << "# comment\n"
            << "@cert-authority *.example,!bad.example " << k.public_line("ca") << "\n"
            << "@cert-authority " << config::hashed_known_hosts_name("[hashed.test]:2222") << " "
            << k.public_line("other_ca") << "\n"
            << "@revoked revoked.test " << k.public_line("ca") << "\n"
            << "plain.test " << k.public_line("host") << "\n"
            << "changed.test " << k.public_line("ca") << "\n";
    }
    const std::vector<KnownHostsFile> files{{kh, "~/.ssh/known_hosts"}};
    KeyPtr ca = k.public_key("ca");
    KeyPtr other_ca = k.public_key("other_ca");
    KeyPtr host = k.public_key("host");
    CHECK(certificate_authority(files, "host.example", ca.get()) == std::string("~/.ssh/known_hosts:2"));
    CHECK(certificate_authority(files, "host.example", nullptr) == std::string("~/.ssh/known_hosts:2"));
    CHECK_FALSE(certificate_authority(files, "bad.example", ca.get())); // negated
    CHECK_FALSE(certificate_authority(files, "host.example", other_ca.get()));
    CHECK(certificate_authority(files, "[hashed.test]:2222", other_ca.get()) == std::string("~/.ssh/known_hosts:3"));
    CHECK_FALSE(certificate_authority(files, "hashed.test", other_ca.get()));
    // A @revoked line is no CA, and the CA it names is revoked there.
    CHECK(revoked_host_key(files, "revoked.test", ca.get()) == std::string("~/.ssh/known_hosts:4"));
    CHECK_FALSE(certificate_authority(files, "revoked.test", nullptr));

    CHECK(known_host_key(files, "plain.test", host.get()) == KnownHostKey::Known);
    CHECK(known_host_key(files, "changed.test", host.get()) == KnownHostKey::Changed);
    CHECK(known_host_key(files, "nowhere.test", host.get()) == KnownHostKey::Unknown);
    // Marker lines are not plain keys for the host.
    CHECK(known_host_key(files, "host.example", ca.get()) == KnownHostKey::Unknown);
}
