// Small encoders shared by every domain: base64, hex, SHA-256, time stamps, ids.
// Pure functions; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lambdad {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid base64 (padding optional).
std::optional<std::string> base64_decode(std::string_view text);

std::array<unsigned char, 32> sha256(std::string_view bytes);
std::string hex(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
std::string sha256_base64(std::string_view bytes);

// "2024-01-02T03:04:05.678+0000", the format Lambda uses for LastModified.
std::string lambda_timestamp_now();
// A random RFC 4122 v4 UUID ("8c0a...-...."), used for request ids and RevisionIds.
std::string uuid4();
// Cryptographically random bytes (OpenSSL), buffered per thread.
void random_bytes(unsigned char* out, size_t n);

}  // namespace lambdad
