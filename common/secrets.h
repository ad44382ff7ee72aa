// Comparing a secret a client sent (AUTH password, HTTP bearer token) with the configured one
// without leaking it through timing: both are hashed with SHA-256 and the digests compared
// with CRYPTO_memcmp, so the time taken depends neither on how many leading bytes match nor
// on the secret's length (Redis does the same in ACLCheckPasswordHash /
// time_independent_strcmp).
//
// Thread-safe (pure).
#ifndef BEYONDKV_COMMON_SECRETS_H_
#define BEYONDKV_COMMON_SECRETS_H_

#include <string_view>

namespace beyondkv {

// Whether `given` equals `expected`, in time independent of their contents.
bool SecretEquals(std::string_view given, std::string_view expected);

}  // namespace beyondkv

#endif  // BEYONDKV_COMMON_SECRETS_H_
