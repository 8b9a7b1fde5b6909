// Darwin's <net/bpf.h> for the model build (tests/darwin_model).
#pragma once

#include <sys/types.h>

#include "../../abi.hpp"

#define BIOCGBLEN (::feth::darwin_model::kBiocGblen)
#define BIOCSBLEN (::feth::darwin_model::kBiocSblen)
#define BIOCSETIF (::feth::darwin_model::kBiocSetif)
#define BIOCIMMEDIATE (::feth::darwin_model::kBiocImmediate)
#define BIOCSSEESENT (::feth::darwin_model::kBiocSseesent)
#define BIOCPROMISC (::feth::darwin_model::kBiocPromisc)
#define BIOCGDLT (::feth::darwin_model::kBiocGdlt)
#define BIOCGSTATS (::feth::darwin_model::kBiocGstats)
#define DLT_EN10MB (::feth::darwin_model::kDltEn10mb)
#define BPF_ALIGNMENT 4
#define BPF_WORDALIGN(x) (((x) + (BPF_ALIGNMENT - 1)) & ~(BPF_ALIGNMENT - 1))

struct bpf_stat {
    u_int bs_recv;
    u_int bs_drop;
};
