using System.Net;
using Firezone.Connlib.Messages;
using Firezone.Snownet;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging;

namespace Firezone.Connlib.Tests.Messages;

/// <summary>Relay list conversion (tunnel spec §3, <c>utils::turn</c>).</summary>
public sealed class TurnRelaysTests
{
    private static readonly RelayId A = new(Guid.Parse("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"));
    private static readonly RelayId B = new(Guid.Parse("7c0e2a55-19b3-4d6e-8f21-3a4b5c6d7e8f"));
    private static readonly DateTimeOffset Expiry = DateTimeOffset.FromUnixTimeSeconds(1735689600);

    private static TurnRelayEntry Turn(RelayId id, string addr, string user) => new(id, IPEndPoint.Parse(addr), user, user + "-pw", Expiry);

    [Fact]
    public void Consecutive_entries_of_one_id_merge_into_dual_stack_and_the_later_credentials_win()
    {
        var relays = TurnRelays.FromPortal([Turn(A, "[2001:2::1]:3478", "u1"), Turn(A, "198.18.0.1:3478", "u2")]);
        var relay = Assert.Single(relays);
        Assert.Equal((A, IPEndPoint.Parse("198.18.0.1:3478"), IPEndPoint.Parse("[2001:2::1]:3478")), (relay.Id, relay.IPv4, relay.IPv6));
        Assert.Equal(("u2", "u2-pw", "firezone"), (relay.Username, relay.Password, relay.Realm));
    }

    [Fact]
    public void Stun_entries_are_ignored()
    {
        var relays = TurnRelays.FromPortal([new StunRelayEntry(B, IPEndPoint.Parse("198.18.0.9:3478")), Turn(A, "198.18.0.1:3478", "u")]);
        Assert.Equal(A, Assert.Single(relays).Id);
        Assert.Empty(TurnRelays.FromPortal([new StunRelayEntry(B, IPEndPoint.Parse("198.18.0.9:3478"))]));
    }

    [Fact]
    public void A_duplicate_of_one_family_keeps_the_first_address_with_a_warning()
    {
        var logger = new ListLogger();
        var relay = Assert.Single(TurnRelays.FromPortal(
            [Turn(A, "198.18.0.1:3478", "u1"), Turn(A, "198.18.0.2:3478", "u2"), Turn(A, "[2001:2::1]:3478", "u3"), Turn(A, "[2001:2::2]:3478", "u4")],
            logger));
        Assert.Equal((IPEndPoint.Parse("198.18.0.1:3478"), IPEndPoint.Parse("[2001:2::1]:3478")), (relay.IPv4, relay.IPv6));
        Assert.Equal("u4", relay.Username);
        Assert.Equal(2, logger.Warnings.Count);
        Assert.Contains("IPv4", logger.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("IPv6", logger.Warnings[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_of_one_id_merge_only_when_adjacent()
    {
        var relays = TurnRelays.FromPortal([Turn(A, "198.18.0.1:3478", "u1"), Turn(B, "198.18.0.5:3478", "u2"), Turn(A, "[2001:2::1]:3478", "u3")]);
        Assert.Equal([A, B, A], relays.Select(r => r.Id));
        Assert.Null(relays[0].IPv6);
        Assert.Null(relays[2].IPv4);
    }

    /// <summary>Against a reference model: group runs of equal ids, first address per family, last credentials.</summary>
    [Property(MaxTest = 300)]
    public Property Agrees_with_grouping_runs_of_equal_ids() => Prop.ForAll(
        Gen.ListOf(Gen.Zip(Gen.Choose(0, 2), Gen.Zip(Gen.Elements(true, false), Gen.Choose(1, 4)))).ToArbitrary(),
        spec =>
        {
            var ids = new[] { A, B, new RelayId(Guid.Parse("00000000-0000-4000-8000-00000000000c")) };
            var entries = spec.Select((s, i) => (RelayEntry)(s.Item1 == 2 && s.Item2.Item2 == 4
                ? new StunRelayEntry(ids[s.Item1], IPEndPoint.Parse("198.18.1.1:3478"))
                : Turn(ids[s.Item1], s.Item2.Item1 ? $"198.18.0.{s.Item2.Item2}:3478" : $"[2001:2::{s.Item2.Item2}]:3478", $"u{i}"))).ToList();

            var expected = new List<(RelayId Id, IPEndPoint? V4, IPEndPoint? V6, string User)>();
            foreach (var turn in entries.OfType<TurnRelayEntry>())
            {
                bool v4 = turn.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
                if (expected.Count > 0 && expected[^1].Id == turn.Id)
                {
                    var last = expected[^1];
                    expected[^1] = (turn.Id, last.V4 ?? (v4 ? turn.Address : null), last.V6 ?? (v4 ? null : turn.Address), turn.Username);
                }
                else
                {
                    expected.Add((turn.Id, v4 ? turn.Address : null, v4 ? null : turn.Address, turn.Username));
                }
            }

            var actual = TurnRelays.FromPortal(entries).Select(r => (r.Id, r.IPv4, r.IPv6, r.Username)).ToList();
            Assert.Equal(expected, actual);
        });

    private sealed class ListLogger : ILogger
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }
}
