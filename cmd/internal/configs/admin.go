package configs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

const (
	resourceTopic  = int8(kmsg.ConfigResourceTypeTopic)
	resourceBroker = int8(kmsg.ConfigResourceTypeBroker)
	// resourceBrokerLogger is ConfigResource.Type.BROKER_LOGGER (8).
	resourceBrokerLogger = int8(kmsg.ConfigResourceTypeBrokerLogger)
)

// configEntry is a ConfigEntry of Kafka's Admin client; Source and synonym
// sources are the Java enum names.
type configEntry struct {
	Name      string
	Value     *string
	Sensitive bool
	Source    string
	Synonyms  []configSynonym
}

type configSynonym struct {
	Name   string
	Value  *string
	Source string
}

// admin is what ConfigCommand needs from Kafka's Admin client.
type admin interface {
	DescribeConfigs(ctx context.Context, resourceType int8, name string, includeSynonyms bool) ([]configEntry, error)
	// IncrementalAlter SETs and DELETEs configs of a topic or (resourceType BROKER_LOGGER) a broker's loggers.
	IncrementalAlter(ctx context.Context, resourceType int8, name string, set map[string]string, del []string) error
	// AlterBroker is the legacy AlterConfigs of a BROKER resource ("" the
	// cluster default) with its complete new dynamic config.
	AlterBroker(ctx context.Context, name string, configs map[string]string) error
	ListTopics(ctx context.Context) ([]string, error)
	BrokerIDs(ctx context.Context) ([]int32, error)
	// AlterUserScram is one AlterUserScramCredentials for user.
	AlterUserScram(ctx context.Context, user string, upserts []scramUpsert, dels []int8) error
	// DescribeUserScram is DescribeUserScramCredentials (no users: all).
	DescribeUserScram(ctx context.Context, users []string) ([]userScram, error)
	Close()
}

// apiException is an error code from the broker as the Java client raises it.
type apiException struct {
	code int16
	msg  *string
}

func (e *apiException) Error() string { return javaException(e) }

// javaException renders err as "<class>: <message>".
func javaException(err error) string {
	var ae *apiException
	if !errors.As(err, &ae) {
		if class, msg, ok := cli.AuthErrorClass(err); ok {
			return class + ": " + msg
		}
		return "org.apache.kafka.common.KafkaException: " + err.Error()
	}
	var ke *kerr.Error
	class, text := "org.apache.kafka.common.errors.UnknownServerException", fmt.Sprintf("Unknown error code %d", ae.code)
	if errors.As(kerr.ErrorForCode(ae.code), &ke) {
		class = "org.apache.kafka.common.errors." + exceptionName(ke.Message)
		text = ke.Description
	}
	if ae.msg != nil {
		text = *ae.msg
	}
	return class + ": " + text
}

// exceptionName maps an error name to its Java exception class.
func exceptionName(code string) string {
	switch code {
	case "INVALID_CONFIG":
		return "InvalidConfigurationException"
	case "UNKNOWN_TOPIC_OR_PARTITION":
		return "UnknownTopicOrPartitionException"
	}
	var b strings.Builder
	for _, w := range strings.Split(strings.ToLower(code), "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String() + "Exception"
}

type kgoAdmin struct{ cl *kgo.Client }

func newKgoAdmin(props map[string]string) (admin, error) {
	cl, err := cli.AdminClient(props)
	if err != nil {
		return nil, err
	}
	return &kgoAdmin{cl: cl}, nil
}

func (a *kgoAdmin) Close() { a.cl.Close() }

func (a *kgoAdmin) DescribeConfigs(ctx context.Context, resourceType int8, name string, includeSynonyms bool) ([]configEntry, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeSynonyms = includeSynonyms
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceType(resourceType), name
	req.Resources = append(req.Resources, r)
	var resp *kmsg.DescribeConfigsResponse
	var err error
	if (resourceType == resourceBroker || resourceType == resourceBrokerLogger) && name != "" {
		// A broker (or broker logger) resource is answered by that broker, as the Java admin routes it.
		id, _ := strconv.Atoi(name)
		resp, err = req.RequestWith(ctx, a.cl.Broker(id))
	} else {
		resp, err = req.RequestWith(ctx, a.cl)
	}
	if err != nil {
		return nil, err
	}
	if len(resp.Resources) != 1 {
		return nil, fmt.Errorf("DescribeConfigs answered %d resources for 1", len(resp.Resources))
	}
	res := resp.Resources[0]
	if res.ErrorCode != 0 {
		return nil, &apiException{code: res.ErrorCode, msg: res.ErrorMessage}
	}
	out := make([]configEntry, 0, len(res.Configs))
	for _, c := range res.Configs {
		e := configEntry{Name: c.Name, Value: c.Value, Sensitive: c.IsSensitive, Source: sourceName(c.Source)}
		for _, s := range c.ConfigSynonyms {
			e.Synonyms = append(e.Synonyms, configSynonym{Name: s.Name, Value: s.Value, Source: sourceName(s.Source)})
		}
		out = append(out, e)
	}
	return out, nil
}

// sourceName is ConfigEntry.ConfigSource's Java name.
func sourceName(s kmsg.ConfigSource) string {
	switch s {
	case kmsg.ConfigSourceDynamicTopicConfig:
		return "DYNAMIC_TOPIC_CONFIG"
	case kmsg.ConfigSourceDynamicBrokerConfig:
		return "DYNAMIC_BROKER_CONFIG"
	case kmsg.ConfigSourceDynamicDefaultBrokerConfig:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case kmsg.ConfigSourceStaticBrokerConfig:
		return "STATIC_BROKER_CONFIG"
	case kmsg.ConfigSourceDefaultConfig:
		return "DEFAULT_CONFIG"
	case kmsg.ConfigSourceDynamicBrokerLoggerConfig:
		return "DYNAMIC_BROKER_LOGGER_CONFIG"
	}
	return "UNKNOWN"
}

func (a *kgoAdmin) IncrementalAlter(ctx context.Context, resourceType int8, name string, set map[string]string, del []string) error {
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceType(resourceType), name
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = k, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(set[k])
		r.Configs = append(r.Configs, c)
	}
	for _, k := range del {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = k, kmsg.IncrementalAlterConfigOpDelete, kmsg.StringPtr("")
		r.Configs = append(r.Configs, c)
	}
	req.Resources = append(req.Resources, r)
	var resp *kmsg.IncrementalAlterConfigsResponse
	var err error
	if resourceType == resourceBrokerLogger {
		// A broker's loggers are altered by that broker, as the Java admin routes it.
		id, _ := strconv.Atoi(name)
		resp, err = req.RequestWith(ctx, a.cl.Broker(id))
	} else {
		resp, err = req.RequestWith(ctx, a.cl)
	}
	if err != nil {
		return err
	}
	for _, res := range resp.Resources {
		if res.ErrorCode != 0 {
			return &apiException{code: res.ErrorCode, msg: res.ErrorMessage}
		}
	}
	return nil
}

func (a *kgoAdmin) AlterBroker(ctx context.Context, name string, configs map[string]string) error {
	req := kmsg.NewPtrAlterConfigsRequest()
	r := kmsg.NewAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBroker, name
	keys := make([]string, 0, len(configs))
	for k := range configs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, kmsg.StringPtr(configs[k])
		r.Configs = append(r.Configs, c)
	}
	req.Resources = append(req.Resources, r)
	var resp *kmsg.AlterConfigsResponse
	var err error
	if name != "" {
		// A broker's own resource is sent to that broker, as the Java admin routes it.
		id, _ := strconv.Atoi(name)
		resp, err = req.RequestWith(ctx, a.cl.Broker(id))
	} else {
		resp, err = req.RequestWith(ctx, a.cl)
	}
	if err != nil {
		return err
	}
	for _, res := range resp.Resources {
		if res.ErrorCode != 0 {
			return &apiException{code: res.ErrorCode, msg: res.ErrorMessage}
		}
	}
	return nil
}

func (a *kgoAdmin) ListTopics(ctx context.Context) ([]string, error) {
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, a.cl)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range resp.Topics {
		if t.Topic != nil && t.ErrorCode == 0 {
			out = append(out, *t.Topic)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (a *kgoAdmin) BrokerIDs(ctx context.Context) ([]int32, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, err
	}
	var out []int32
	for _, b := range resp.Brokers {
		out = append(out, b.NodeID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
