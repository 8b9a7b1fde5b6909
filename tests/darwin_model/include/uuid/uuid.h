// Darwin's <uuid/uuid.h> for the model build (tests/darwin_model).
#pragma once

typedef unsigned char uuid_t[16];
