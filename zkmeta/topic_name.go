package zkmeta

import (
	"fmt"
	"unicode/utf16"
)

// MaxTopicNameLength is Kafka's limit (Topic.MAX_NAME_LENGTH).
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's topic name rules (Topic.validate): not
// empty, not "." or "..", at most 249 characters of [a-zA-Z0-9._-]. The rules
// keep a name safe as a znode name and as a log directory name.
func ValidateTopicName(name string) error {
	if reason := invalidTopicReason(name); reason != "" {
		return fmt.Errorf("Topic name is invalid: %s", reason) // Kafka's message, capitalised
	}
	return nil
}

// invalidTopicReason is Topic.detectInvalidTopic; the length is Java's, in
// UTF-16 code units.
func invalidTopicReason(name string) string {
	switch {
	case name == "":
		return "the empty string is not allowed"
	case name == ".":
		return "'.' is not allowed"
	case name == "..":
		return "'..' is not allowed"
	case len(utf16.Encode([]rune(name))) > MaxTopicNameLength:
		return fmt.Sprintf("the length of '%s' is longer than the max allowed length %d", name, MaxTopicNameLength)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Sprintf("'%s' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return ""
}

// IsInternalTopic reports Kafka's internal topics.
func IsInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}
