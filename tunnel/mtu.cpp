#include "mtu.hpp"

#include <charconv>

#include "darwin_structs.hpp"
#include "wire.hpp"

namespace feth::mtu {

// The limits restate facts kept elsewhere: keep them in step.
static_assert(kLinux.max == wire::kMaxEthernetMtu && kDarwin.max == wire::kMaxEthernetMtu);
static_assert(kDarwin.max == darwin::kFethLargestMaxMtu && kDarwin.min == darwin::kIfMinMtu);

std::string expected(Range range)
{
    return "default or a number from " + std::to_string(range.min) + " to " + std::to_string(range.max);
}

std::optional<unsigned> parse(std::string_view text, Range range)
{
    if (text == "default") return 0u;
    // Plain decimal digits only: from_chars alone would take a leading '-'.
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (value < range.min || value > range.max) return std::nullopt;
    return value;
}

std::optional<unsigned> to_set(unsigned requested, unsigned current, unsigned largest)
{
    if (requested != 0) return requested == current ? std::nullopt : std::optional<unsigned>(requested);
    if (current > largest) return largest;
    return std::nullopt;
}

std::optional<unsigned> feth_max_mtu_to_raise(unsigned mtu, unsigned current_max)
{
    if (mtu <= current_max) return std::nullopt;
    return mtu;
}

std::string feth_existing_problem(const std::string& visible, const std::string& peer, unsigned mtu,
                                  unsigned device_max)
{
    if (mtu <= device_max) return {};
    return "device " + visible + ": MTU " + std::to_string(mtu) + " is above " + std::to_string(device_max) +
           ", the largest the existing pair " + visible + "/" + peer +
           " takes (feth fixes it at creation from net.link.fake.max_mtu); destroy the pair ('ifconfig " + visible +
           " destroy; ifconfig " + peer + " destroy') and let the tunnel create it, or create it after 'sysctl " +
           "net.link.fake.max_mtu=" + std::to_string(mtu) + "'";
}

} // namespace feth::mtu
