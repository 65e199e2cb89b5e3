/**
 * The pad bridge's public surface, for src-main/core and the CLI. Import from here, not from the
 * family folders, so the layout inside drivers/ can change (zigbee-herdsman's adapter barrel).
 */

export {
  choosePad,
  type DiscoverOptions,
  type DiscoveryReport,
  discoverPads,
  type FoundPad,
  formatReport,
  type RejectedPort,
} from './discovery/discover.ts';
export { classifyOpenError, type OpenFailure } from './discovery/probe.ts';
export { type RankedPort, rankPorts } from './discovery/score.ts';
export { crc16 } from './evp1/crc16.ts';
export { type DecoderCounters, FrameDecoder, INTER_BYTE_TIMEOUT_MS } from './evp1/decoder.ts';
export {
  buildFrame,
  Caps,
  type DecodeResult,
  decodeFrame,
  decodePayload,
  encodeFrame,
  encodePayload,
  FaultCode,
  type Frame,
  FrameType,
  type FrameTypeName,
  frameTypeName,
  fromHex,
  type Key,
  KeyStatus,
  type KeyStatusCode,
  MAX_PAYLOAD,
  type Message,
  type MessageOf,
  NakReason,
  PadMode,
  PromptCode,
  toHex,
} from './evp1/frames.ts';
export {
  type DeviceInfo,
  HostLink,
  type HostLinkCounters,
  type HostLinkEvents,
  type HostLinkOptions,
  type KeyHandler,
  type KeyPress,
  type LinkState,
} from './evp1/host-link.ts';
export { type FrameRecord, LinkError, type LinkErrorCode } from './evp1/link-common.ts';
export {
  encodeKeyLine,
  type KeylineCounters,
  KeylineDecoder,
  type KeylineKey,
  parseKeyLine,
} from './keyline/codec.ts';
export { KeylineLink, type KeylineLinkOptions, nextConnectionId } from './keyline/keyline-link.ts';
export {
  type CodecName,
  type DeviceProfile,
  fingerprintPort,
  levelForKey,
  type PortInfo,
  type PortMatch,
  PROFILES,
  profileById,
  profilesForPort,
  USB_CHIPS,
  type UsbFingerprint,
  validateProfile,
} from './profiles.ts';
export {
  type PadDisplay,
  PadSimulator,
  type PadSimulatorOptions,
  type PressResult,
} from './sim/pad-simulator.ts';
export { type PadSimRun, type PtyPad, type RunPadSimOptions, runPadSim, startPtyPad } from './sim/pty-pad.ts';
export { type StuckKeyAlarm, StuckKeyDetector, type StuckKeyOptions } from './stuck-key.ts';
export {
  PadSupervisor,
  type PadSupervisorEvents,
  type PadSupervisorOptions,
  type SupervisorCounters,
  type SupervisorState,
} from './supervisor.ts';
export { createMemoryPair, MemoryTransport } from './transports/memory.ts';
export { ReconnectingTransport } from './transports/reconnecting.ts';
export { DEFAULT_BAUD_RATE, SerialTransport, type SerialTransportOptions } from './transports/serial.ts';
export {
  isTcpUrl,
  parseTcpUrl,
  type TcpAddress,
  TcpTransport,
  type TcpTransportOptions,
} from './transports/tcp.ts';
export { type Transport, TransportClosedError, type TransportCloseInfo } from './transports/types.ts';
export { type Clock, type Logger, systemClock } from './util/clock.ts';
