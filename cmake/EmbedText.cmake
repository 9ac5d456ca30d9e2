# cmake -DINPUT=file -DOUTPUT=file.cpp -DSYMBOL=name -P EmbedText.cmake
# Writes a C++ source defining `extern const std::string_view shype::embedded::<SYMBOL>`
# holding the bytes of INPUT, text or binary (stored as unsigned char, so
# every byte value is representable).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR byte_count "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT}; do not edit.\n"
  "#include <string_view>\n"
  "namespace shype::embedded {\n"
  "namespace { const unsigned char k${SYMBOL}Bytes[] = {${bytes} 0}; }\n"
  "extern const std::string_view ${SYMBOL};\n"
  "// SAFETY: unsigned char and char have the same size and representation;\n"
  "// the bytes are static and only read.\n"
  "const std::string_view ${SYMBOL}(reinterpret_cast<const char*>(k${SYMBOL}Bytes), ${byte_count});\n"
  "}\n")
