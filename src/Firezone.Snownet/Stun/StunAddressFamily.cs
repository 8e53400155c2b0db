namespace Firezone.Snownet.Stun;

/// <summary>Address family codes used in STUN address attributes and (REQUESTED|ADDITIONAL)-ADDRESS-FAMILY.</summary>
internal enum StunAddressFamily : byte
{
    /// <summary>IPv4 (0x01).</summary>
    IPv4 = 0x01,

    /// <summary>IPv6 (0x02).</summary>
    IPv6 = 0x02,
}
