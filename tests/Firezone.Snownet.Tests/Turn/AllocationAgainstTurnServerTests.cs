using System.Net;
using Firezone.Snownet.Stun;
using Firezone.Snownet.SansIo;
using Firezone.Snownet.Turn;
using static Firezone.Snownet.Tests.Turn.RelayTestKit;

namespace Firezone.Snownet.Tests.Turn;

/// <summary>Our TURN client against our relay core, wired back to back (no loss), with simulated time.</summary>
public class AllocationAgainstTurnServerTests
{
    private static readonly IPEndPoint Relay = IPEndPoint.Parse("198.18.0.254:3478");
    private static readonly IPEndPoint Client = IPEndPoint.Parse("198.18.0.1:50000");
    private const string Secret = "4c98bf59c99b3e467ecd7cf9d6b3e5279645fca59be67bc5bb4af3cf653761ab";

    private sealed class Link
    {
        public Link(string secret = Secret, TimeSpan? credentialValidity = null)
        {
            Server = NewServer(secret);
            var expiry = (ulong)Wall(Start + (credentialValidity ?? TimeSpan.FromDays(1))).ToUnixTimeSeconds();
            Allocation = new Allocation(
                RelaySocket.FromV4(Relay),
                FirezoneCredentials.MakeUsername(expiry, "n23JJ2wKKtt30oXi"),
                FirezoneCredentials.ComputePassword(Secret, expiry, "n23JJ2wKKtt30oXi"),
                FirezoneCredentials.Realm,
                "snownet; session=LINK",
                Start,
                RandomSource.Seeded(5));
        }

        public TurnServer Server { get; private set; }

        public Allocation Allocation { get; }

        public int ErrorResponses { get; private set; }

        public List<int> ErrorCodes { get; } = new();

        public static TurnServer NewServer(string secret)
        {
            var random = new Random(9);
            return new TurnServer(new TurnServerOptions
            {
                PublicIPv4 = Relay.Address,
                ListenPort = Relay.Port,
                LowestPort = 49152,
                HighestPort = 49160,
                AuthSecret = secret,
                Random = span => random.NextBytes(span),
            });
        }

        public void Reboot(string secret) => Server = NewServer(secret);

        /// <summary>Exchanges messages until both sides are quiet.</summary>
        public void Pump(TimeSpan now)
        {
            for (var i = 0; i < 10_000; i++)
            {
                var progress = false;
                while (Allocation.PollTransmit() is { } t)
                {
                    Server.HandleClientInput(t.Payload.Span, Client, now, Wall(now));
                    progress = true;
                }

                while (Server.TryPollCommand(out var command))
                {
                    if (command.Kind == TurnServerCommandKind.SendMessage)
                    {
                        if (StunMessage.TryParse(command.Payload, out var m) && m.ErrorCode is { } code)
                        {
                            ErrorResponses++;
                            ErrorCodes.Add(code);
                        }

                        Allocation.HandleInput(command.Payload, Relay, Client, now);
                        progress = true;
                    }
                }

                while (Allocation.PollEvent() is not null)
                {
                }

                if (!progress)
                {
                    return;
                }
            }

            throw new InvalidOperationException("client and relay never went quiet");
        }
    }

    [Fact]
    public void Allocates_with_one_challenge_and_gets_the_relay_public_address()
    {
        var link = new Link();
        link.Pump(Start);
        Assert.True(link.Allocation.HasAllocation);
        Assert.Equal(new IPEndPoint(Relay.Address, link.Allocation.RelayedV4!.Value.Address.Port), link.Allocation.RelayedV4!.Value.Address);
        Assert.Equal(Client, link.Allocation.ServerReflexiveV4!.Value.Address);
        Assert.Equal(new[] { 401 }, link.ErrorCodes);
        Assert.Equal(1, link.Server.AllocationCount);
    }

    [Fact]
    public void Nonce_exhaustion_after_100_uses_is_answered_with_438_and_handled_transparently()
    {
        var link = new Link();
        link.Pump(Start);
        for (var i = 0; i < 150; i++)
        {
            link.Allocation.BindChannel(new IPEndPoint(IPAddress.Parse("198.18.1.1"), 1000 + i), Start);
            link.Pump(Start);
        }

        Assert.Contains(438, link.ErrorCodes);
        Assert.Equal(150, link.Server.BoundChannelCount);
        Assert.Equal(150, link.Allocation.Channels.Records.Values.Count(r => r.Bound));
    }

    [Fact]
    public void Refresh_and_channel_rebinds_keep_everything_alive_for_an_hour()
    {
        var link = new Link();
        link.Pump(Start);
        var peer = IPEndPoint.Parse("198.18.1.1:6000");
        link.Allocation.BindChannel(peer, Start);
        link.Pump(Start);
        var channel = link.Allocation.Channels.ConnectedChannelToPeer(peer, Start)!.Value;
        var now = Start;
        for (var minute = 1; minute <= 60; minute++)
        {
            now = Start + TimeSpan.FromMinutes(minute);

            // The peer talks every minute, so the client re-binds the channel every 5 minutes.
            var data = new byte[] { (byte)(channel >> 8), (byte)channel, 0, 1, 7 };
            Assert.True(link.Allocation.TryDecapsulate(data, Relay, now, out _, out _, out _), $"channel dead at minute {minute}");
            link.Server.HandleTimeout(now);
            link.Allocation.HandleTimeout(now);
            link.Pump(now);
        }

        Assert.True(link.Allocation.HasAllocation);
        Assert.Equal(1, link.Server.AllocationCount);
        Assert.Equal(1, link.Server.BoundChannelCount);
        Assert.NotNull(link.Allocation.EncodeToPeer(peer, "x"u8, now));
    }

    [Fact]
    public void Expired_credentials_end_in_AuthenticationError()
    {
        var link = new Link(credentialValidity: TimeSpan.FromSeconds(-10));
        link.Pump(Start);
        Assert.False(link.Allocation.HasAllocation);
        Assert.False(link.Allocation.HasCredentials);
        Assert.Equal(new[] { 401, 401 }, link.ErrorCodes);
        Assert.Equal(AllocationFreeReason.AuthenticationError, link.Allocation.CanBeFreed());
    }

    [Fact]
    public void Rebooted_relay_with_a_new_secret_is_given_up_after_the_refresh_times_out()
    {
        // The new relay does not know our nonce (438) and signs with a key derived from its new secret, which does not
        // verify with ours, so the answers are ignored, the Refresh runs out of retransmissions and the relay counts as
        // unreachable. The portal then hands out new credentials and update_relays replaces the allocation.
        var link = new Link();
        link.Pump(Start);
        link.Reboot("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
        var now = Start + TimeSpan.FromMinutes(5);
        link.Allocation.HandleTimeout(now);
        link.Pump(now);
        while (link.Allocation.PollTimeout() is { } t && t < Start + TimeSpan.FromMinutes(6))
        {
            now = t;
            link.Allocation.HandleTimeout(now);
            link.Pump(now);
        }

        Assert.Contains(438, link.ErrorCodes);
        Assert.False(link.Allocation.HasAllocation);
        Assert.Equal(Start + TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(8.125), now);
        Assert.Equal(AllocationFreeReason.NoResponseReceived, link.Allocation.CanBeFreed());
    }

    [Fact]
    public void Rebooted_relay_with_the_same_secret_answers_437_and_the_client_allocates_again()
    {
        var link = new Link();
        link.Pump(Start);
        var before = link.Allocation.RelayedV4;
        link.Reboot(Secret);
        var now = Start + TimeSpan.FromMinutes(5);
        link.Allocation.HandleTimeout(now);
        link.Pump(now);
        Assert.True(link.Allocation.HasAllocation);
        Assert.Contains(437, link.ErrorCodes);
        Assert.Equal(1, link.Server.AllocationCount);
        Assert.NotNull(before);
    }
}
