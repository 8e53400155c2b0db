using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Connlib.Model;
using Firezone.Snownet;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>Messages to and from the Snownet types the state machines use (offer, answer).</summary>
public sealed class SnownetMappingTests
{
    private static readonly GatewayId Gateway = new(Guid.Parse("5f1d9c2e-8a47-4b0e-b0a4-2c9f6f3e7d21"));
    private static readonly ResourceId Resource = new(Guid.Parse("0b6c5a1e-3f0e-4c55-9a55-6e7b1c3d2a10"));

    [Fact]
    public void A_snownet_offer_becomes_request_connection_with_the_session_key_as_preshared_key()
    {
        var sessionKey = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var offer = new Offer(sessionKey, new Credentials("ufrg", "password-of-22-chars!!"));
        var request = RequestConnection.FromOffer(Gateway, Resource, offer, null);
        Assert.Equal(sessionKey, request.ClientPresharedKey.ToArray());
        Assert.Equal(offer.Credentials, request.IceParameters);
        Assert.Equal(Convert.ToBase64String(sessionKey), request.ToPayload()["client_preshared_key"]!.GetValue<string>());
        Assert.Throws<ArgumentException>(() => RequestConnection.FromOffer(Gateway, Resource, new Offer(new byte[16], offer.Credentials), null));
    }

    [Fact]
    public void A_gateway_request_connection_gives_the_offer_snownet_accepts()
    {
        var psk = Key.Random();
        var request = new GatewayRequestConnection(
            "r", new GatewayInternetResource(Resource), new ClientId(Guid.NewGuid()), new Credentials("a", "b"), null,
            new ClientPeer(25, Key.Random(), psk, IPAddress.Parse("100.64.0.2"), IPAddress.Parse("fd00:2021:1111::2")), null);
        var offer = request.ToOffer();
        Assert.Equal(psk.ToArray(), offer.SessionKey.ToArray());
        Assert.Equal(new Credentials("a", "b"), offer.Credentials);
    }

    [Fact]
    public void An_answer_goes_out_as_connection_ready_and_comes_back_from_connect()
    {
        var answer = new Answer(new Credentials("gw12", "gateway-password-22chr"));
        var ready = ConnectionReady.FromAnswer("ref-1", answer);
        var decoded = PortalMessages.DecodeFromGateway(ready.Event, System.Text.Json.JsonElement.Parse(ready.ToPayload().ToJsonString()));
        var accepted = Assert.IsType<ConnectionAccepted>(Assert.IsType<ConnectionReady>(decoded.Message).GatewayPayload);
        Assert.Equal(answer, accepted.ToAnswer());
    }

    [Fact]
    public void A_default_decoded_value_reports_an_error()
    {
        Decoded nothing = default;
        Assert.False(nothing.IsSuccess);
        Assert.NotNull(nothing.Error);
        Assert.False(nothing.TryGet<RelayInit>(out _));
    }
}
