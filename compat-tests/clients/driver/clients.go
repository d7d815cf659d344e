package driver

import "fmt"

// ByName returns the client with a matrix name.
func ByName(name string) (Client, error) {
	switch name {
	case "franz-go":
		return Franz{}, nil
	case "sarama":
		return Sarama{}, nil
	case "kafka-go":
		return KafkaGo{}, nil
	case "confluent-kafka-go":
		return Confluent{}, nil
	case "kcat":
		return Kcat{}, nil
	}
	return nil, fmt.Errorf("unknown client %q", name)
}
