#pragma once
// Typed access to a JSON document that names the offending field when the document is not
// what it should be ("kernels[3].launches: expected a non-negative integer"), so that a
// hand-edited or truncated report gets one clear line instead of a library's exception.

#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brrr {

class JsonReader {
public:
  JsonReader(const nlohmann::json& j, std::string source, std::string path = {})
      : j_(j), source_(std::move(source)), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_ + ": " + (path_.empty() ? std::string() : path_ + ": ") + what);
  }

  [[nodiscard]] bool has(const char* key) const { return j_.is_object() && j_.contains(key) && !j_.at(key).is_null(); }

  [[nodiscard]] JsonReader at(const char* key) const {
    if (!j_.is_object()) fail("expected an object");
    if (!j_.contains(key)) JsonReader(j_, source_, child(key)).fail("missing");
    return JsonReader(j_.at(key), source_, child(key));
  }

  [[nodiscard]] std::optional<JsonReader> optional(const char* key) const {
    if (!has(key)) return std::nullopt;
    return JsonReader(j_.at(key), source_, child(key));
  }

  [[nodiscard]] std::vector<JsonReader> items() const {
    if (!j_.is_array()) fail("expected an array");
    std::vector<JsonReader> out;
    out.reserve(j_.size());
    for (std::size_t i = 0; i < j_.size(); ++i) out.emplace_back(j_[i], source_, path_ + "[" + std::to_string(i) + "]");
    return out;
  }

  [[nodiscard]] std::vector<std::pair<std::string, JsonReader>> members() const {
    if (!j_.is_object()) fail("expected an object");
    std::vector<std::pair<std::string, JsonReader>> out;
    for (const auto& [key, value] : j_.items()) out.emplace_back(key, JsonReader(value, source_, child(key.c_str())));
    return out;
  }

  [[nodiscard]] std::string str() const {
    if (!j_.is_string()) fail("expected a string");
    return j_.get<std::string>();
  }

  [[nodiscard]] bool boolean() const {
    if (!j_.is_boolean()) fail("expected true or false");
    return j_.get<bool>();
  }

  [[nodiscard]] double number() const {
    if (!j_.is_number()) fail("expected a number");
    const double v = j_.get<double>();
    if (!std::isfinite(v)) fail("expected a finite number");
    return v;
  }

  [[nodiscard]] double non_negative() const {
    const double v = number();
    if (v < 0) fail("is negative (" + j_.dump() + ")");
    return v;
  }

  [[nodiscard]] uint64_t u64() const {
    if (j_.is_number_integer() && j_.get<int64_t>() < 0 && !j_.is_number_unsigned())
      fail("is negative (" + j_.dump() + ")");
    if (!j_.is_number_integer()) {
      if (j_.is_number_float()) {
        const double v = j_.get<double>();
        if (!std::isfinite(v)) fail("expected a finite number");
        if (v < 0) fail("is negative (" + j_.dump() + ")");
      }
      fail("expected a non-negative integer");
    }
    return j_.get<uint64_t>();
  }

  [[nodiscard]] uint32_t u32() const {
    const uint64_t v = u64();
    if (v > UINT32_MAX) fail("is too large");
    return static_cast<uint32_t>(v);
  }

  [[nodiscard]] int32_t i32() const {
    if (!j_.is_number_integer()) fail("expected an integer");
    const int64_t v = j_.get<int64_t>();
    if (v < INT32_MIN || v > INT32_MAX) fail("is out of range");
    return static_cast<int32_t>(v);
  }

  [[nodiscard]] std::vector<std::string> strings() const {
    std::vector<std::string> out;
    for (const auto& item : items()) out.push_back(item.str());
    return out;
  }

  [[nodiscard]] const nlohmann::json& json() const { return j_; }
  [[nodiscard]] const std::string& source() const { return source_; }

private:
  [[nodiscard]] std::string child(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  const nlohmann::json& j_;
  std::string source_;
  std::string path_;
};

// A GPU as a report's gpus[] and a calibration's measured.gpu hold it (lib/report/profiles.cpp).
[[nodiscard]] GpuInfo gpu_from_json(const JsonReader& r);

} // namespace brrr
