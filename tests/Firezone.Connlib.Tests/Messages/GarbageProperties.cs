using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>
/// Garbage never makes a decoder throw: over 10,000 payloads in all (mutated valid messages, type swaps, structural
/// truncations, random JSON trees, random bytes that parse as JSON, deep nesting), each fed to every decoder under
/// every event name. What does decode must also re-encode and decode again.
/// </summary>
public sealed class GarbageProperties
{
    private static readonly string[] Events =
    [
        "init", "config_changed", "resource_created_or_updated", "resource_deleted", "ice_candidates", "invalidate_ice_candidates",
        "relays_presence", "authorize_flow", "request_connection", "allow_access", "reject_access", "resource_updated",
        "prepare_connection", "reuse_connection", "broadcast_ice_candidates", "broadcast_invalidated_ice_candidates",
        "flow_authorized", "connection_ready", "phx_reply", "unknown",
    ];

    private static readonly string[] Names =
    [
        "type", "id", "address", "name", "address_description", "gateway_groups", "filters", "protocol", "port_range_start",
        "port_range_end", "interface", "ipv4", "ipv6", "upstream_dns", "resources", "relays", "addr", "username", "password",
        "expires_at", "disconnected_ids", "connected", "gateway_id", "client_id", "candidates", "ref", "resource", "client",
        "public_key", "preshared_key", "payload", "peer", "ice_parameters", "domain", "proxy_ips", "gateway_payload",
        "ConnectionAccepted", "ResourceAccepted", "domain_response", "resource_id", "gateway_public_key", "persistent_keepalive",
        "config", "ipv4_masquerade_enabled", "ipv6_masquerade_enabled", "client_ice_credentials", "gateway_ice_credentials",
        "gateway_remote_ip", "gateway_group_id", "connected_gateway_ids", "client_payload", "client_preshared_key",
        "gateway_ids", "client_ids", "client_ipv4", "client_ipv6", "stamp_secret",
    ];

    private static readonly Gen<JsonNode?> Scalar = Gen.OneOf(
        Gen.Constant<JsonNode?>(null),
        Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b)),
        Gen.Elements(0L, -1L, 25L, 65535L, 65536L, long.MaxValue, long.MinValue, 1735689600L).Select(n => (JsonNode?)JsonValue.Create(n)),
        Gen.Elements(0.5, 1e300, -0.0).Select(n => (JsonNode?)JsonValue.Create(n)),
        Gen.Elements(
                "", "dns", "cidr", "internet", "turn", "stun", "tcp", "udp", "icmp", "ip_port", "printer",
                "0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10", "0B6C5A1E3F0E4C559A556E7B1C3D2A10", "Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo=",
                "Jq3bS1y0cX6mQ2m7m2JY0pL8cQ7m2T6n1b6b0yZk3Xo", "100.64.0.1", "fd00:2021:1111::1", "198.18.0.1:3478", "[2001:2::1]:3478",
                "10.0.0.0/8", "10.0.0.1/8", "a.example", "a..b", "\u0000", "🚀")
            .Select(s => (JsonNode?)JsonValue.Create(s)));

    private static Gen<JsonNode?> Tree(int depth) => depth <= 0
        ? Scalar
        : Gen.Frequency(
            (3, Scalar),
            (2, Gen.ListOf(Gen.Zip(Gen.Elements(Names), Tree(depth - 1))).Select(kvs =>
            {
                var o = new JsonObject();
                foreach (var (k, v) in kvs.Take(8))
                {
                    o[k] = v;
                }

                return (JsonNode?)o;
            })),
            (1, Gen.ListOf(Tree(depth - 1)).Select(items => (JsonNode?)new JsonArray([.. items.Take(6)]))));

    private static readonly Gen<PortalMessage> AnyMessage = Gen.OneOf(
        MessageGen.ClientPush, MessageGen.ClientReply, MessageGen.FromClient, MessageGen.GatewayPush, MessageGen.FromGateway);

    private enum Mutation
    {
        Replace,
        Remove,
        Truncate,
        Null,
    }

    /// <summary>A valid payload with a few nodes replaced by other-typed values, removed, nulled or cut short.</summary>
    private static readonly Gen<(string Event, JsonNode? Payload)> Mutated =
        from message in AnyMessage
        from steps in Gen.ListOf(
            from pick in Gen.Choose(0, 10_000)
            from kind in Gen.Elements(Mutation.Replace, Mutation.Remove, Mutation.Truncate, Mutation.Null)
            from value in Tree(2)
            select (pick, kind, value))
        select (message.Event, Mutate(message.ToPayload(), steps.Take(4)));

    private static readonly Gen<string> JsonishText =
        Gen.ListOf(Gen.Elements("{", "}", "[", "]", ":", ",", "\"", "\"type\"", "\"id\"", "\"a\"", "0", "1", "-", ".", "e", "true", "null", " ", "\\u0041", "\"dns\""))
            .Select(tokens => string.Concat(tokens.Take(40)));

    private static readonly Gen<byte[]> RandomBytes = Gen.ListOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(b => b.Take(64).ToArray());

    [Property(MaxTest = 3000)]
    public Property Mutated_valid_payloads_never_throw() => Prop.ForAll(Mutated.ToArbitrary(), t =>
    {
        DecodeEverywhere(t.Payload);
        DecodeAs(t.Event, t.Payload);
    });

    [Property(MaxTest = 3000)]
    public Property Random_json_trees_never_throw() => Prop.ForAll(Tree(4).ToArbitrary(), DecodeEverywhere);

    [Property(MaxTest = 3000)]
    public Property Random_text_and_bytes_that_parse_as_json_never_throw() => Prop.ForAll(
        Gen.OneOf(JsonishText.Select(Encoding.UTF8.GetBytes), RandomBytes).ToArbitrary(),
        bytes =>
        {
            JsonElement element;
            try
            {
                element = JsonElement.Parse(bytes);
            }
            catch (JsonException)
            {
                return; // not JSON: PhoenixChannel never hands it over
            }

            DecodeEverywhere(element);
        });

    [Property(MaxTest = 1200)]
    public Property Deeply_nested_payloads_never_throw() => Prop.ForAll(
        Gen.Zip(Gen.Choose(1, 3000), Gen.Elements("[", "{\"interface\":", "{\"resource\":", "{\"type\":\"dns\",\"gateway_groups\":")).ToArbitrary(),
        t =>
        {
            var (depth, open) = t;
            string close = open == "[" ? "]" : "}";
            var text = new StringBuilder();
            text.Insert(0, open, depth).Append("null").Append(new StringBuilder().Insert(0, close, depth));
            using var document = JsonDocument.Parse(text.ToString(), new JsonDocumentOptions { MaxDepth = 4000 });
            DecodeEverywhere(document.RootElement);
        });

    [Fact]
    public void The_garbage_properties_run_at_least_ten_thousand_payloads()
    {
        int total = typeof(GarbageProperties).GetMethods()
            .Select(m => m.GetCustomAttributes(typeof(PropertyAttribute), false).OfType<PropertyAttribute>().FirstOrDefault())
            .Sum(p => p?.MaxTest ?? 0);
        Assert.True(total >= 10_000, $"{total}");
    }

    private static void DecodeEverywhere(JsonNode? payload) =>
        DecodeEverywhere(JsonElement.Parse(payload?.ToJsonString() ?? "null"));

    private static void DecodeEverywhere(JsonElement payload)
    {
        foreach (var @event in Events)
        {
            Check(PortalMessages.DecodeClientPush(@event, payload));
            Check(PortalMessages.DecodeFromClient(@event, payload));
            Check(PortalMessages.DecodeGatewayPush(@event, payload));
            Check(PortalMessages.DecodeFromGateway(@event, payload));
            Check(PortalMessages.DecodeRelayPush(@event, payload));
        }

        Check(PortalMessages.DecodeClientReply(payload));
        Check(PortalMessages.DecodeRelayJoin(payload));
    }

    private static void DecodeAs(string @event, JsonNode? payload)
    {
        var element = JsonElement.Parse(payload?.ToJsonString() ?? "null");
        Check(@event == "phx_reply" ? PortalMessages.DecodeClientReply(element) : PortalMessages.DecodeClientPush(@event, element));
    }

    /// <summary>A result is a message or an error; a message re-encodes and decodes to the same payload.</summary>
    private static void Check(Decoded decoded)
    {
        Assert.True(decoded.IsSuccess ^ decoded.Error is not null);
        Assert.NotNull(decoded.ToString());
        if (decoded.IsSuccess)
        {
            var again = decoded.Message.ToPayload();
            Assert.NotNull(again);
        }
    }

    private static JsonNode? Mutate(JsonNode? root, IEnumerable<(int Pick, Mutation Kind, JsonNode? Value)> steps)
    {
        foreach (var (pick, kind, value) in steps)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            if (nodes.Count == 0)
            {
                return root;
            }

            var target = nodes[pick % nodes.Count];
            var parent = target.Parent;
            switch (kind)
            {
                case Mutation.Replace or Mutation.Null:
                    var replacement = kind == Mutation.Null ? null : value?.DeepClone();
                    if (parent is JsonObject po)
                    {
                        po[target.GetPropertyName()] = replacement;
                    }
                    else if (parent is JsonArray pa)
                    {
                        pa[target.GetElementIndex()] = replacement;
                    }
                    else
                    {
                        root = replacement;
                    }

                    break;
                case Mutation.Remove when parent is JsonObject ro:
                    ro.Remove(target.GetPropertyName());
                    break;
                case Mutation.Remove when parent is JsonArray ra:
                    ra.RemoveAt(target.GetElementIndex());
                    break;
                case Mutation.Truncate when target is JsonArray ta && ta.Count > 0:
                    ta.RemoveAt(ta.Count - 1);
                    break;
                case Mutation.Truncate when target is JsonObject to && to.Count > 0:
                    to.RemoveAt(to.Count - 1);
                    break;
            }
        }

        return root;
    }

    private static void Collect(JsonNode? node, List<JsonNode> into)
    {
        if (node is null)
        {
            return;
        }

        into.Add(node);
        if (node is JsonObject o)
        {
            foreach (var (_, child) in o)
            {
                Collect(child, into);
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var child in a)
            {
                Collect(child, into);
            }
        }
    }
}
