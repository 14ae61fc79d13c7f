#include "serve/escape.h"

#include <string>

#include "gtest/gtest.h"

namespace flatpyramid {
namespace serve {
namespace {

TEST(JsonStringTest, QuotesAndEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("L7_ETMs.tif"), "\"L7_ETMs.tif\"");
  EXPECT_EQ(JsonString("a \"b\" c:\\d"), "\"a \\\"b\\\" c:\\\\d\"");
  EXPECT_EQ(JsonString("line\nnext\ttab\r"), "\"line\\nnext\\u0009tab\\u000d\"");
  EXPECT_EQ(JsonString(std::string("nul\0end", 7)), "\"nul\\u0000end\"");
}

TEST(JsonStringTest, LeavesUtf8AndSlashesAsTheyAre) {
  EXPECT_EQ(JsonString("Olinda/Recife \xC3\xA9"), "\"Olinda/Recife \xC3\xA9\"");
}

TEST(XmlTextTest, EscapesTheFiveXmlSpecialCharacters) {
  EXPECT_EQ(XmlText("a < b & c > d \"e\" 'f'"),
            "a &lt; b &amp; c &gt; d &quot;e&quot; &apos;f&apos;");
  EXPECT_EQ(XmlText("plain"), "plain");
}

}  // namespace
}  // namespace serve
}  // namespace flatpyramid
