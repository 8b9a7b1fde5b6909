#include "config/algorithm_list.hpp"

#include <functional>
#include <string>

#include "catch.hpp"
#include "base/error.hpp"

using namespace feth::config;

namespace {

std::string resolve(std::string_view value, AlgorithmKind kind = AlgorithmKind::Kex,
                    AlgorithmRole role = AlgorithmRole::Server)
{
    return resolve_algorithm_list(value, kind, role, every_known_algorithm);
}

std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const feth::InputError& e) {
        return e.what();
    }
    return "<no InputError>";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

} // namespace

TEST_CASE("OpenSSH 10.5's default lists, in its order", "[algorithms]")
{
    auto server = default_algorithms(AlgorithmKind::Kex, AlgorithmRole::Server);
    auto client = default_algorithms(AlgorithmKind::Kex, AlgorithmRole::Client);
    REQUIRE(server.size() == 8);
    REQUIRE(client.size() == 12);
    CHECK(server[0] == "mlkem768x25519-sha256");
    CHECK(server[1] == "sntrup761x25519-sha512");
    CHECK(server[2] == "sntrup761x25519-sha512@openssh.com");
    CHECK(server[3] == "curve25519-sha256");
    // KEX_CLIENT_KEX is KEX_SERVER_KEX, then the finite-field groups.
    for (std::size_t i = 0; i < server.size(); ++i) CHECK(client[i] == server[i]);
    CHECK(client[8] == "diffie-hellman-group-exchange-sha256");
    CHECK(client[11] == "diffie-hellman-group14-sha256");
    // Every default is a known name (what libssh is asked about).
    for (auto name : client) CHECK(every_known_algorithm(AlgorithmKind::Kex, name));
    for (auto name : default_algorithms(AlgorithmKind::Cipher, AlgorithmRole::Client))
        CHECK(every_known_algorithm(AlgorithmKind::Cipher, name));
    CHECK_FALSE(every_known_algorithm(AlgorithmKind::Cipher, "mlkem768x25519-sha256"));
}

TEST_CASE("the four forms, as kex_assemble_names", "[algorithms]")
{
    CHECK(resolve("") == "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
                         "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                         "ecdh-sha2-nistp521");
    // Explicit: as given, duplicates dropped.
    CHECK(resolve("ecdh-sha2-nistp256,curve25519-sha256,ecdh-sha2-nistp256") == "ecdh-sha2-nistp256,curve25519-sha256");
    // +: appended; a default named again stays where it was.
    CHECK(resolve("+diffie-hellman-group14-sha256,curve25519-sha256") ==
          resolve("") + ",diffie-hellman-group14-sha256");
    // ^: first, then the rest of the defaults.
    CHECK(resolve("^ecdh-sha2-nistp521,curve25519-sha256") ==
          "ecdh-sha2-nistp521,curve25519-sha256,mlkem768x25519-sha256,sntrup761x25519-sha512,"
          "sntrup761x25519-sha512@openssh.com,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384");
    // -: patterns; names that match nothing are fine.
    CHECK(resolve("-ecdh-sha2-*,*@openssh.com,*@libssh.org,no-such-kex") ==
          "mlkem768x25519-sha256,sntrup761x25519-sha512,curve25519-sha256");
    CHECK(resolve("-curve25519-sha25?") == resolve("-curve25519-sha256"));
    CHECK(resolve("-aes*", AlgorithmKind::Cipher, AlgorithmRole::Client) == "chacha20-poly1305@openssh.com");
}

TEST_CASE("bad values name the problem", "[algorithms]")
{
    CHECK(algorithm_list_problem("curve25519-sha256", AlgorithmKind::Kex, every_known_algorithm).empty());
    CHECK(algorithm_list_problem("-*", AlgorithmKind::Kex, every_known_algorithm).empty());
    CHECK(has(algorithm_list_problem("+", AlgorithmKind::Kex, every_known_algorithm), "no names"));
    CHECK(has(algorithm_list_problem("curve25519-sha256,,ecdh-sha2-nistp256", AlgorithmKind::Kex, every_known_algorithm),
              "'' is not a name"));
    CHECK(has(algorithm_list_problem(",curve25519-sha256", AlgorithmKind::Kex, every_known_algorithm),
              "'' is not a name"));
    CHECK(has(algorithm_list_problem("curve25519-sha256,", AlgorithmKind::Kex, every_known_algorithm),
              "'' is not a name"));
    CHECK(has(algorithm_list_problem("+curve*", AlgorithmKind::Kex, every_known_algorithm), "'curve*' is not a name"));
    CHECK(has(algorithm_list_problem("!curve25519-sha256", AlgorithmKind::Kex, every_known_algorithm),
              "is not a name"));
    CHECK(has(algorithm_list_problem("x\x01y", AlgorithmKind::Kex, every_known_algorithm), "'x\\x01y' is not a name"));
    CHECK(has(algorithm_list_problem(std::string(1025, 'a'), AlgorithmKind::Kex, every_known_algorithm),
              "longer than 1024"));
    // A cipher is no key exchange.
    CHECK(has(algorithm_list_problem("aes128-ctr", AlgorithmKind::Kex, every_known_algorithm),
              "'aes128-ctr' is not implemented by this libssh (it has: mlkem768x25519-sha256,"));
    CHECK(has(error_of([] { resolve("-*"); }), "Bad SSH2 KexAlgorithms '-*': that leaves no algorithm"));
    CHECK(has(error_of([] { resolve("bogus", AlgorithmKind::Cipher); }),
              "Bad SSH2 cipher spec 'bogus': 'bogus' is not implemented"));
}

TEST_CASE("the defaults keep to what libssh implements", "[algorithms]")
{
    // libssh 0.11 has neither ML-KEM nor sntrup761.
    AlgorithmSupport libssh011 = [](AlgorithmKind kind, std::string_view name) {
        return every_known_algorithm(kind, name) && name.rfind("mlkem", 0) != 0 && name.rfind("sntrup", 0) != 0;
    };
    CHECK(resolve_algorithm_list("", AlgorithmKind::Kex, AlgorithmRole::Server, libssh011) ==
          "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521");
    // '-' of a name it lacks: nothing to remove, no error (sshd's rule).
    CHECK(resolve_algorithm_list("-mlkem768x25519-sha256", AlgorithmKind::Kex, AlgorithmRole::Server, libssh011) ==
          resolve_algorithm_list("", AlgorithmKind::Kex, AlgorithmRole::Server, libssh011));
    CHECK(has(error_of([&] {
                  resolve_algorithm_list("^sntrup761x25519-sha512", AlgorithmKind::Kex, AlgorithmRole::Client,
                                         libssh011);
              }),
              "'sntrup761x25519-sha512' is not implemented by this libssh (it has: curve25519-sha256,"));
    // An extra libssh has beyond OpenSSH's defaults can be asked for.
    CHECK(resolve("+mlkem768nistp256-sha256").ends_with(",ecdh-sha2-nistp521,mlkem768nistp256-sha256"));
    AlgorithmSupport nothing = [](AlgorithmKind, std::string_view) { return false; };
    CHECK(has(error_of([&] { resolve_algorithm_list("", AlgorithmKind::Kex, AlgorithmRole::Server, nothing); }),
              "that leaves no algorithm"));
}
