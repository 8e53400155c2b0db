using System.Text.Json;
using System.Text.Json.Nodes;
using Firezone.Connlib.Messages;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>Generated messages of every kind: encode → (text) → decode gives the same value, and re-encodes to the same JSON.</summary>
public sealed class RoundTripProperties
{
    private static void RoundTrips(PortalMessage message, Func<string, JsonElement, Decoded> decode)
    {
        string text = message.ToPayload().ToJsonString();
        var decoded = decode(message.Event, JsonElement.Parse(text));
        Assert.True(decoded.IsSuccess, $"{message.Event} {text}: {decoded.Error}");
        MessageAssert.StructurallyEqual(message, decoded.Message);
        Assert.Equal(message.Event, decoded.Message.Event);
        Assert.True(JsonNode.DeepEquals(message.ToPayload(), decoded.Message.ToPayload()), text);
        Assert.Equal(text, System.Text.Encoding.UTF8.GetString(message.ToUtf8Bytes()));
    }

    [Property(MaxTest = 400)]
    public Property Client_pushes_round_trip() => Prop.ForAll(MessageGen.ClientPush.ToArbitrary(), m => RoundTrips(m, PortalMessages.DecodeClientPush));

    [Property(MaxTest = 300)]
    public Property Client_replies_round_trip() => Prop.ForAll(MessageGen.ClientReply.ToArbitrary(), m => RoundTrips(m, (_, p) => PortalMessages.DecodeClientReply(p)));

    [Property(MaxTest = 400)]
    public Property Client_messages_round_trip_through_the_portal_side_decoder() =>
        Prop.ForAll(MessageGen.FromClient.ToArbitrary(), m => RoundTrips(m, PortalMessages.DecodeFromClient));

    [Property(MaxTest = 400)]
    public Property Gateway_pushes_round_trip() => Prop.ForAll(MessageGen.GatewayPush.ToArbitrary(), m => RoundTrips(m, PortalMessages.DecodeGatewayPush));

    [Property(MaxTest = 300)]
    public Property Gateway_messages_round_trip_through_the_portal_side_decoder() =>
        Prop.ForAll(MessageGen.FromGateway.ToArbitrary(), m => RoundTrips(m, PortalMessages.DecodeFromGateway));

    [Property(MaxTest = 100)]
    public Property Relay_join_and_init_round_trip() => Prop.ForAll(
        Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 32).ToArbitrary(),
        secret =>
        {
            RoundTrips(RelayJoin.FromSecret(secret), (_, p) => PortalMessages.DecodeRelayJoin(p));
            RoundTrips(new RelayInit(), PortalMessages.DecodeRelayPush);
            Assert.Matches("^[0-9a-f]{64}$", RelayJoin.FromSecret(secret).StampSecret);
        });

    [Property(MaxTest = 200)]
    public Property Every_push_decodes_through_the_topic_dispatcher() => Prop.ForAll(
        Gen.OneOf(MessageGen.ClientPush.Select(m => ("client", m)), MessageGen.GatewayPush.Select(m => ("gateway", m))).ToArbitrary(),
        t => RoundTrips(t.Item2, (e, p) => PortalMessages.DecodePush(t.Item1, e, p)));

    [Property(MaxTest = 200)]
    public Property Broadcasts_encode_candidates_sorted_and_unique_whatever_the_input() => Prop.ForAll(
        MessageGen.Candidates.ToArbitrary(),
        candidates =>
        {
            var sent = new IceCandidatesForClients([], candidates).ToPayload()["candidates"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            Assert.Equal(candidates.Distinct().Order(StringComparer.Ordinal), sent);
        });

    /// <summary>PhoenixChannel.Send serialises the payload node with its own options: the bytes must not change.</summary>
    [Property(MaxTest = 200)]
    public Property PhoenixChannel_sends_the_payload_unchanged() => Prop.ForAll(
        Gen.OneOf(MessageGen.FromClient, MessageGen.FromGateway, MessageGen.ClientPush, MessageGen.GatewayPush).ToArbitrary(),
        m => Assert.Equal(m.ToUtf8Bytes(), JsonSerializer.SerializeToUtf8Bytes(m.ToPayload(), Firezone.PhoenixChannel.PhoenixJson.DefaultOptions)));
}
