#include "config/authorized_keys.hpp"

#include <string>

#include "catch.hpp"

using namespace feth::config;

namespace {

// Real keys from ssh-keygen.
const std::string kEd25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIBS8euwKHJQKhpbO45R71PlwQkTTcSPKoDoMWqO3WvOd";
const std::string kEcdsa256 =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBGTo0OlsQ+N4bdyNj4aYb0McoSiOhCK6hVVTLbxrcehUW7TZIYHAjt2yQ"
    "BMrvpI+ojnOloz97AuJwUwuzCdpo/0=";
const std::string kRsa =
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDPtFDZ52TiX7si5W7qhEeSRX5KJ+tD1RUPJC2LbtVm2FheDBb3SvuffnYaJTOd67tZHn2gn4p8fjuu"
    "TWOJOIlqO87bSpKmhJeb1E7/wgg+NaFXX0zW7h0ML37KBj3Irh9F+GJaEJBGs05s907muv2soO46thw6gMQ3fB71dae1iQ==";

std::string base64(const std::string& in)
{
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
    }
    return out;
}

// A syntactically valid blob of `type`: its name as an SSH string, then bytes.
std::string fake_blob(const std::string& type)
{
    std::string blob(4, '\0');
    blob[3] = static_cast<char>(type.size());
    return base64(blob + type + std::string("\0\0\0\x04xxxx", 8));
}

AuthorizedKeysParse parse(const std::string& text) { return parse_authorized_keys(text); }

// Parses one line that must yield exactly one key and no error.
AuthorizedKey one_key(const std::string& line)
{
    auto r = parse(line);
    std::string errors;
    for (const auto& e : r.errors) errors += e + "; ";
    INFO(line);
    INFO(errors);
    REQUIRE(r.errors.empty());
    REQUIRE(r.keys.size() == 1);
    return r.keys[0];
}

// Parses one line that must be rejected; returns the error.
std::string one_error(const std::string& line)
{
    auto r = parse(line);
    INFO(line);
    CHECK(r.keys.empty());
    REQUIRE(r.errors.size() == 1);
    return r.errors[0];
}

} // namespace

TEST_CASE("authorized_keys: plain keys", "[authorized_keys]")
{
    auto k = one_key("ssh-ed25519 " + kEd25519 + " alice@example");
    CHECK(k.options.empty());
    CHECK(k.type == "ssh-ed25519");
    CHECK(k.base64 == kEd25519);
    CHECK(k.comment == "alice@example");
    CHECK(k.line == 1);

    CHECK(one_key("ecdsa-sha2-nistp256 " + kEcdsa256).comment.empty());
    CHECK(one_key("ssh-rsa " + kRsa + "   a comment  with spaces  ").comment == "a comment  with spaces");
    CHECK(one_key("  \tssh-ed25519\t" + kEd25519).type == "ssh-ed25519");
}

TEST_CASE("authorized_keys: comments, blank lines, CRLF, empty file", "[authorized_keys]")
{
    auto empty = parse("");
    CHECK(empty.keys.empty());
    CHECK(empty.errors.empty());

    auto r = parse("# a comment\r\n"
                   "\r\n"
                   "   # indented comment\n"
                   "ssh-ed25519 " +
                   kEd25519 + " one\r\n" + "\n" + "ssh-rsa " + kRsa + "\r\n" + "ecdsa-sha2-nistp256 " + kEcdsa256);
    CHECK(r.errors.empty());
    REQUIRE(r.keys.size() == 3);
    CHECK(r.keys[0].line == 4);
    CHECK(r.keys[0].comment == "one"); // no '\r' left over
    CHECK(r.keys[1].line == 6);
    CHECK(r.keys[1].base64 == kRsa);
    CHECK(r.keys[2].line == 7); // last line without '\n'
}

TEST_CASE("authorized_keys: options", "[authorized_keys]")
{
    SECTION("bare options, lower-cased")
    {
        auto k = one_key("Restrict,No-PTY ssh-ed25519 " + kEd25519 + " c");
        REQUIRE(k.options.size() == 2);
        CHECK(k.options[0].name == "restrict");
        CHECK_FALSE(k.options[0].value.has_value());
        CHECK(k.options[1].name == "no-pty");
        CHECK(k.type == "ssh-ed25519");
        CHECK(k.comment == "c");
    }
    SECTION("quoted values with commas, spaces and escaped quotes")
    {
        auto k = one_key(R"(tunnel="7",from="10.0.0.0/8,!10.1.2.3",command="echo \"hi, there\" done",permitopen="" )"
                         "ssh-rsa " +
                         kRsa);
        REQUIRE(k.options.size() == 4);
        CHECK(k.options[0].name == "tunnel");
        CHECK(k.options[0].value == std::optional<std::string>("7"));
        CHECK(k.options[1].value == std::optional<std::string>("10.0.0.0/8,!10.1.2.3"));
        CHECK(k.options[2].name == "command");
        CHECK(k.options[2].value == std::optional<std::string>("echo \"hi, there\" done"));
        CHECK(k.options[3].value == std::optional<std::string>(""));
        CHECK(k.type == "ssh-rsa");
    }
    SECTION("a backslash not before a quote is kept")
    {
        auto k = one_key(R"(command="a\b\\c" ssh-ed25519 )" + kEd25519);
        CHECK(k.options.at(0).value == std::optional<std::string>(R"(a\b\\c)"));
    }
    SECTION("an option that looks like a key type is still an option")
    {
        auto k = one_key("restrict ecdsa-sha2-nistp256 " + kEcdsa256);
        REQUIRE(k.options.size() == 1);
        CHECK(k.type == "ecdsa-sha2-nistp256");
    }
}

TEST_CASE("authorized_keys: bad options", "[authorized_keys]")
{
    const std::string key = " ssh-ed25519 " + kEd25519;
    CHECK(one_error(R"(command="never closed)" + key) == "line 1: bad options: unterminated quote in option value");
    CHECK(one_error(R"(command=unquoted)" + key) ==
          "line 1: bad options: value of option 'command' must be in double quotes");
    CHECK(one_error("restrict," + key) == "line 1: bad options: options end with ','");
    CHECK(one_error("restrict,,pty" + key) == "line 1: bad options: bad character ',' in options");
    CHECK(one_error(R"(from="x"y)" + key) == "line 1: bad options: unexpected 'y' after option 'from'");
    CHECK(one_error("=x" + key) == "line 1: bad options: bad character '=' in options");
    CHECK(one_error("restrict") == "line 1: missing key type after options");

    std::string many;
    for (int i = 0; i < 300; ++i) many += "pty,";
    many += "pty";
    CHECK(one_error(many + key) == "line 1: bad options: more than 256 options");
    CHECK(one_error(std::string(100, 'a') + key) == "line 1: bad options: option name too long");
    CHECK(one_error("command=\"" + std::string(9000, 'x') + "\"" + key) ==
          "line 1: bad options: option value longer than 8192 bytes");
}

TEST_CASE("authorized_keys: key types", "[authorized_keys]")
{
    CHECK(is_supported_key_type("ssh-ed25519"));
    CHECK(is_supported_key_type("ecdsa-sha2-nistp256"));
    CHECK(is_supported_key_type("ecdsa-sha2-nistp384"));
    CHECK(is_supported_key_type("ecdsa-sha2-nistp521"));
    CHECK(is_supported_key_type("ssh-rsa"));
    CHECK_FALSE(is_supported_key_type("ssh-dss"));
    CHECK_FALSE(is_supported_key_type("sk-ssh-ed25519@openssh.com"));
    CHECK_FALSE(is_supported_key_type("ssh-ed25519-cert-v01@openssh.com"));
    CHECK_FALSE(is_supported_key_type("SSH-ED25519"));
    CHECK_FALSE(is_supported_key_type(""));

    SECTION("known but unsupported types parse")
    {
        for (std::string type : {"ssh-dss", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
                                 "ssh-ed25519-cert-v01@openssh.com", "ssh-rsa-cert-v01@openssh.com"}) {
            auto k = one_key(type + " " + fake_blob(type) + " c");
            CHECK(k.type == type);
            CHECK_FALSE(is_supported_key_type(k.type));
        }
    }
    SECTION("the other supported ecdsa sizes")
    {
        for (std::string type : {"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"})
            CHECK(one_key(type + " " + fake_blob(type)).type == type);
    }
    SECTION("unknown types are named")
    {
        CHECK(one_error("ssh-foo " + fake_blob("ssh-foo") + " c") == "line 1: unknown key type 'ssh-foo'");
        CHECK(one_error("restrict ssh-foo " + fake_blob("ssh-foo")) == "line 1: unknown key type 'ssh-foo'");
    }
}

TEST_CASE("authorized_keys: bad key blobs", "[authorized_keys]")
{
    CHECK(one_error("ssh-ed25519") == "line 1: missing key blob after 'ssh-ed25519'");
    CHECK(one_error("ssh-ed25519 AAAA$$$$") == "line 1: bad base64 in key blob");
    CHECK(one_error("ssh-ed25519 " + kEd25519.substr(1)) == "line 1: bad base64 in key blob"); // not a multiple of 4
    CHECK(one_error("ssh-ed25519 AAAA===") == "line 1: bad base64 in key blob");
    CHECK(one_error("ssh-ed25519 AA==") == "line 1: key blob too short");
    CHECK(one_error("ssh-ed25519 " + kRsa) == "line 1: key blob is of type 'ssh-rsa', not 'ssh-ed25519'");
    CHECK(one_error("ssh-ed25519 " + base64(std::string("\0\0\0\x0bssh-ed25519", 15))) ==
          "line 1: key blob has no key data");
    CHECK(one_error("ssh-ed25519 " + base64(std::string("\xff\xff\xff\xffssh", 7))) == "line 1: key blob too short");
}

TEST_CASE("authorized_keys: bad lines are skipped, good ones kept", "[authorized_keys]")
{
    auto r = parse("ssh-ed25519 " + kEd25519 + " good1\n" + "tunnel=\"1 ssh-ed25519 " + kEd25519 + "\n" +
                   "ssh-rsa " + kRsa + " good2\n" + "garbage\n");
    REQUIRE(r.keys.size() == 2);
    CHECK(r.keys[0].comment == "good1");
    CHECK(r.keys[1].comment == "good2");
    CHECK(r.keys[1].line == 3);
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0] == "line 2: bad options: unterminated quote in option value");
    CHECK(r.errors[1] == "line 4: missing key type after options");
}

TEST_CASE("authorized_keys: hostile input", "[authorized_keys]")
{
    SECTION("long lines")
    {
        std::string line = "ssh-ed25519 " + kEd25519 + " " + std::string(17000, 'c');
        CHECK(one_error(line) == "line 1: line longer than 16384 bytes");
    }
    SECTION("NUL bytes")
    {
        std::string line = "ssh-ed25519 " + kEd25519 + " co";
        line += '\0';
        line += "mment";
        CHECK(one_error(line) == "line 1: NUL byte in line");
    }
    SECTION("errors are capped")
    {
        std::string text;
        for (int i = 0; i < 500; ++i) text += "junk\n";
        auto r = parse(text);
        CHECK(r.keys.empty());
        REQUIRE(r.errors.size() == 101);
        CHECK(r.errors.back() == "line 101: too many errors, not reporting more");
    }
    SECTION("binary garbage never yields a key")
    {
        std::string text;
        for (int i = 0; i < 256; ++i) text += static_cast<char>(i);
        auto r = parse(text);
        CHECK(r.keys.empty());
        CHECK_FALSE(r.errors.empty());
    }
}
