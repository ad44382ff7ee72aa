// On-disk constants of the engine's storage format, version 1. The byte-by-byte grammar, the
// reasons and an example live in engine/FORMAT.md; this header and that page change together,
// and record_codec_test.cc pins the bytes of one record (golden test).
//
// All integers are little-endian. Values stored on disk are numbered explicitly and never
// renumbered.
#ifndef BEYONDKV_ENGINE_RECORD_FORMAT_H_
#define BEYONDKV_ENGINE_RECORD_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace beyondkv::engine {

// Version of the segment and record layout below. Written in every segment header and in the
// shard's MANIFEST; a reader refuses any other value. Version 2 (2026-12): revisions are
// millisecond ticks below 2^53 (revision_clock.h); version 1 held µs << 8 revisions, which
// JavaScript clients cannot read exactly and which sort above every version 2 revision.
inline constexpr uint32_t kFormatVersion = 2;

// ---- Segment file (FORMAT.md "Segment header") ----------------------------------------------
// The first 8 bytes of every segment: ASCII "BKVSEG\r\n" (the CR LF catches text-mode
// transfers, as PNG's signature does), read as a little-endian u64.
inline constexpr uint64_t kSegmentMagic = 0x0A0D474553564B42ull;

// magic u64 | format_version u32 | shard_id u32 | namespace u32 | reserved u32 |
// sequence u64 | header_crc u32 | padding u32. header_crc is CRC32C of bytes [0, 32).
inline constexpr size_t kSegmentHeaderSize = 40;
inline constexpr size_t kSegmentHeaderCrcOffset = 32;

// ---- Record (FORMAT.md "Record") ------------------------------------------------------------
enum class RecordType : uint8_t {
  kPut = 1,        // key := value, with revision and expiry
  kTombstone = 2,  // key deleted
  kExpire = 3,     // key's expiry := expire_at_ms (EXPIRE/PERSIST sidecar); no metadata, value
  kFlush = 4,      // every earlier record of the namespace is void (FLUSHDB); no key, value
};

// crc u32 | type u8 | flags u8 | reserved u16 | revision u64 | expire_at_ms i64 |
// key_len u32 | meta_len u32 | value_len u32, then key, metadata, value.
// crc is CRC32C of everything after it: bytes [4, kRecordHeaderSize + key + meta + value).
inline constexpr size_t kRecordHeaderSize = 36;
inline constexpr size_t kRecordCrcSize = 4;

// Sanity caps a decoder applies before trusting length fields. They bound what a corrupt
// length can make a reader allocate, and what a writer may produce.
//   Keys live in RAM in the index, so they are capped far below Redis's 512 MiB.
inline constexpr uint32_t kMaxKeyBytes = 64u << 10;   // 64 KiB
inline constexpr uint32_t kMaxMetaBytes = 64u << 10;  // 64 KiB
//   Hard ceiling for values, whatever Options::max_value_bytes says; keeps a record < 4 GiB.
inline constexpr uint32_t kMaxValueBytesLimit = 1u << 30;  // 1 GiB

// ---- Hint file (FORMAT.md "Hint files") ----------------------------------------------------
// The first 8 bytes of every hint file: ASCII "BKVHINT\n", read as a little-endian u64.
inline constexpr uint64_t kHintMagic = 0x0A544E4948564B42ull;

// magic u64 | format_version u32 | shard_id u32 | namespace u32 | corrupt_records u32 |
// sequence u64 | segment_size u64 | entry_count u64, then the entries, then crc32c u32 of
// every byte before it.
inline constexpr size_t kHintHeaderSize = 48;
inline constexpr size_t kHintTrailerSize = 4;

// type u8 | reserved u8[3] | key_len u32 | revision u64 | expire_at_ms i64 |
// record_offset u64 | meta_len u32 | value_len u32, then the key.
inline constexpr size_t kHintEntryHeaderSize = 40;

}  // namespace beyondkv::engine

#endif  // BEYONDKV_ENGINE_RECORD_FORMAT_H_
