// base/framed_messages: the framing both privilege separations trust, over a
// real socketpair: fields round-trip, every field out of bounds is an error
// naming the message, and the privileged reader refuses descriptors.
#include "base/framed_messages.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "catch.hpp"

using feth::InputError;
using feth::IoMode;
using feth::UniqueFd;
using feth::framing::Message;
using feth::framing::RecvOptions;
using feth::framing::recv_message;
using feth::framing::send_message;

namespace {

const char* names(std::uint32_t type) { return type == 7 ? "Seven" : nullptr; }

struct Pair {
    UniqueFd a, b;
    Pair() { REQUIRE(feth::open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::blocking, a, b) == 0); }
};

} // namespace

TEST_CASE("framed messages: fields and descriptors round-trip", "[framed_messages]")
{
    Pair p;
    Message m(7u);
    m.put_u32(0xdeadbeef);
    m.put_u64(0x0123456789abcdefULL);
    m.put_string("tap0");
    m.add_fd(STDIN_FILENO);
    send_message(p.a.get(), m, "test peer", names);

    Message r;
    REQUIRE(recv_message(p.b.get(), r, "test peer"));
    CHECK(r.type() == 7);
    CHECK(r.get_u32() == 0xdeadbeef);
    CHECK(r.get_u64() == 0x0123456789abcdefULL);
    CHECK(r.get_string(16) == "tap0");
    CHECK_NOTHROW(r.expect_end());
    REQUIRE(r.fds().size() == 1);
    CHECK(r.fds()[0].get() != STDIN_FILENO);

    p.a.reset();
    Message eof;
    CHECK_FALSE(recv_message(p.b.get(), eof, "test peer"));
}

TEST_CASE("framed messages: a field out of bounds names the message and the problem", "[framed_messages]")
{
    auto message = [] {
        Message m(9u);
        m.put_string("0123456789");
        m.put_u32(1);
        return m;
    };
    Message small = message();
    CHECK_THROWS_WITH(small.get_string(4), "message type 9: string of 10 bytes (limit 4)");
    Message r = message();
    r.get_string(10);
    CHECK_THROWS_WITH(r.expect_end(), "message type 9: 4 trailing bytes");
    r.get_u32();
    CHECK_THROWS_WITH(r.get_u32(), "message type 9: truncated uint32");
}

TEST_CASE("framed messages: the privileged reader refuses a descriptor", "[framed_messages]")
{
    Pair p;
    Message m(7u);
    m.add_fd(STDIN_FILENO);
    send_message(p.a.get(), m, "test peer", names);
    Message r;
    RecvOptions no_fds;
    no_fds.descriptors = false;
    CHECK_THROWS_AS(recv_message(p.b.get(), r, "hostile peer", no_fds), InputError);
    CHECK(r.fds().empty());
}

TEST_CASE("framed messages: a send error names the message through the protocol's names", "[framed_messages]")
{
    Pair p;
    p.b.reset();
    Message m(7u);
    CHECK_THROWS_WITH(send_message(p.a.get(), m, "test peer", names),
                      FETH_CATCH_CONTAINS("sending Seven to test peer"));
    Message unknown(8u);
    CHECK_THROWS_WITH(send_message(p.a.get(), unknown, "test peer", names),
                      FETH_CATCH_CONTAINS("sending message 8 to test peer"));
}
