// libFuzzer target: the bpf record walker must never read past the buffer,
// loop forever or hand out a frame outside it, whatever the bytes, and
// resuming from a returned offset must be as safe as the first walk.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tunnel/bpf_records.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    // Copy into an exactly sized heap buffer so ASan sees any overread.
    std::vector<std::uint8_t> buf(data, data + size);
    std::span<const std::uint8_t> view(buf);
    std::size_t seen = 0;
    auto check = [&](std::span<const std::uint8_t> frame) {
        if (frame.data() < view.data() || frame.data() + frame.size() > view.data() + view.size()) std::abort();
        volatile std::uint8_t sink = 0;
        for (auto byte : frame) sink = sink ^ byte; // touch every byte
        (void)sink;
        return (++seen % 3) != 0; // stop now and then to exercise resuming
    };
    std::size_t offset = 0;
    for (int rounds = 0; rounds <= static_cast<int>(size); ++rounds) {
        auto r = feth::bpf::walk_records(view, check, offset);
        if (r.offset > view.size() || r.offset < offset) std::abort();
        if (r.frames + r.truncated > size) std::abort();
        if (!r.stopped) break;
        if (r.offset == offset) std::abort(); // a stop must consume its record
        offset = r.offset;
    }
    return 0;
}
