namespace Firezone.Snownet.Stun;

/// <summary>Attribute type codes the codec understands (RFC 8489, RFC 8656, RFC 8445, RFC 6156/8656).</summary>
internal static class StunAttributeType
{
    /// <summary>MAPPED-ADDRESS (0x0001), plain (non-XOR) address.</summary>
    public const ushort MappedAddress = 0x0001;

    /// <summary>USERNAME (0x0006).</summary>
    public const ushort Username = 0x0006;

    /// <summary>MESSAGE-INTEGRITY (0x0008), HMAC-SHA1.</summary>
    public const ushort MessageIntegrity = 0x0008;

    /// <summary>ERROR-CODE (0x0009).</summary>
    public const ushort ErrorCode = 0x0009;

    /// <summary>UNKNOWN-ATTRIBUTES (0x000A).</summary>
    public const ushort UnknownAttributes = 0x000A;

    /// <summary>CHANNEL-NUMBER (0x000C).</summary>
    public const ushort ChannelNumber = 0x000C;

    /// <summary>LIFETIME (0x000D).</summary>
    public const ushort Lifetime = 0x000D;

    /// <summary>XOR-PEER-ADDRESS (0x0012).</summary>
    public const ushort XorPeerAddress = 0x0012;

    /// <summary>DATA (0x0013).</summary>
    public const ushort Data = 0x0013;

    /// <summary>REALM (0x0014).</summary>
    public const ushort Realm = 0x0014;

    /// <summary>NONCE (0x0015).</summary>
    public const ushort Nonce = 0x0015;

    /// <summary>XOR-RELAYED-ADDRESS (0x0016).</summary>
    public const ushort XorRelayedAddress = 0x0016;

    /// <summary>REQUESTED-ADDRESS-FAMILY (0x0017).</summary>
    public const ushort RequestedAddressFamily = 0x0017;

    /// <summary>REQUESTED-TRANSPORT (0x0019).</summary>
    public const ushort RequestedTransport = 0x0019;

    /// <summary>MESSAGE-INTEGRITY-SHA256 (0x001C).</summary>
    public const ushort MessageIntegritySha256 = 0x001C;

    /// <summary>XOR-MAPPED-ADDRESS (0x0020).</summary>
    public const ushort XorMappedAddress = 0x0020;

    /// <summary>PRIORITY (0x0024), ICE.</summary>
    public const ushort Priority = 0x0024;

    /// <summary>USE-CANDIDATE (0x0025), ICE.</summary>
    public const ushort UseCandidate = 0x0025;

    /// <summary>ADDITIONAL-ADDRESS-FAMILY (0x8000).</summary>
    public const ushort AdditionalAddressFamily = 0x8000;

    /// <summary>SOFTWARE (0x8022).</summary>
    public const ushort Software = 0x8022;

    /// <summary>FINGERPRINT (0x8028).</summary>
    public const ushort Fingerprint = 0x8028;

    /// <summary>ICE-CONTROLLED (0x8029).</summary>
    public const ushort IceControlled = 0x8029;

    /// <summary>ICE-CONTROLLING (0x802A).</summary>
    public const ushort IceControlling = 0x802A;
}
