// libFuzzer target: the hint-file decoder (engine/hint_file.h DecodeHintFile).
//
// Each input is decoded twice: as is (only the magic/checksum checks are reachable), and as
// the body of a hint file whose magic is forced and whose checksum is recomputed, so the
// entry checks are reached. Checks, when a decode succeeds:
//   - the records satisfy the documented guarantees: entry_count of them, offsets at or
//     after the segment header, increasing, non-overlapping and inside segment_size, sizes
//     and value offsets derived from the lengths;
//   - rebuilding the file with HintBuilder from the header and records gives the same bytes
//     (the format has one encoding).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/coding.h"
#include "engine/crc32c.h"
#include "engine/hint_file.h"
#include "engine/record_codec.h"
#include "engine/record_format.h"

namespace {

using namespace beyondkv::engine;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "hint_file_fuzzer: invariant failed: %s\n", what);
    abort();
  }
}

void DecodeAndCheck(std::string_view bytes) {
  HintHeader header;
  absl::StatusOr<std::vector<ScannedRecord>> records = DecodeHintFile(bytes, &header);
  if (!records.ok()) {
    Check(absl::IsDataLoss(records.status()), "a bad hint file is DataLoss");
    return;
  }
  Check(records->size() == header.entry_count, "entry_count records");
  uint64_t next = kSegmentHeaderSize;
  HintBuilder builder;
  for (const ScannedRecord& r : *records) {
    const uint64_t size = EncodedRecordSize(r.key.size(), r.meta_len, r.value_len);
    Check(r.offset >= next, "records in file order, not overlapping");
    Check(r.offset + size <= header.segment_size, "records inside the segment");
    Check(r.size == size, "size derived from the lengths");
    Check(r.value_offset == r.offset + kRecordHeaderSize + r.key.size() + r.meta_len,
          "value offset derived from the lengths");
    Check(r.key.size() <= kMaxKeyBytes && r.meta_len <= kMaxMetaBytes &&
              r.value_len <= kMaxValueBytesLimit,
          "lengths within the caps");
    next = r.offset + size;
    builder.Add(r);
  }
  Check(builder.Finish(header) == bytes, "HintBuilder re-encodes the same bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  DecodeAndCheck(raw);

  // The same bytes as a hint body: magic forced, checksum appended.
  std::string fixed(raw);
  if (fixed.size() < 8) fixed.resize(8, '\0');
  EncodeFixed64(fixed.data(), kHintMagic);
  char crc[kHintTrailerSize];
  EncodeFixed32(crc, crc32c::Value(fixed.data(), fixed.size()));
  fixed.append(crc, sizeof(crc));
  DecodeAndCheck(fixed);
  return 0;
}
