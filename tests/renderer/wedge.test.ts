import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WEDGE_KEYS,
  isWedgeKey,
  levelFromWedgeKey,
  parseWedgeMap,
  wedgeAction,
  wedgeMapFromLocation,
} from '../../src-renderer/wedge.ts';
import { LEVEL_LABELS_ZH } from '../../src-shared/levels.ts';

const key = (k: string, extra: Partial<KeyboardEvent> = {}) => ({
  key: k,
  repeat: false,
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  ...extra,
});

describe('keyboard-wedge key map', () => {
  it('default: F1 = key 1 = leftmost = 非常满意 … F5 = 非常不满意', () => {
    const levels = ['F1', 'F2', 'F3', 'F4', 'F5'].map((k) => levelFromWedgeKey(k));
    expect(levels).toEqual([5, 4, 3, 2, 1]);
    expect(LEVEL_LABELS_ZH[levelFromWedgeKey('F1') ?? 3]).toBe('非常满意');
    expect(levelFromWedgeKey('F6')).toBeNull();
    expect(levelFromWedgeKey('1')).toBeNull();
    expect(isWedgeKey('F5')).toBe(true);
    expect(isWedgeKey('Enter')).toBe(false);
  });

  it('is configurable as five keys left to right, or off; a malformed map gives the default', () => {
    const reversed = parseWedgeMap('F5,F4,F3,F2,F1');
    expect(levelFromWedgeKey('F5', reversed)).toBe(5);
    expect(levelFromWedgeKey('F1', reversed)).toBe(1);
    const letters = parseWedgeMap(' a, b ,c,d,e ');
    expect(levelFromWedgeKey('a', letters)).toBe(5);
    expect(levelFromWedgeKey('e', letters)).toBe(1);
    expect(levelFromWedgeKey('F1', letters)).toBeNull();
    expect(parseWedgeMap('off')).toEqual({});
    for (const bad of ['F1,F2', 'F1,F1,F2,F3,F4', 'F1,,F3,F4,F5', 'F1,F2,F3,F4,F5,F6'])
      expect(parseWedgeMap(bad), bad).toEqual(DEFAULT_WEDGE_KEYS);
    expect(parseWedgeMap(null)).toEqual(DEFAULT_WEDGE_KEYS);
    expect(wedgeMapFromLocation({ search: '', hash: '#/citizen?wedge=F5,F4,F3,F2,F1' })).toEqual(reversed);
    expect(wedgeMapFromLocation({ search: '?wedge=off', hash: '#/citizen' })).toEqual({});
    expect(wedgeMapFromLocation({ search: '', hash: '' })).toEqual(DEFAULT_WEDGE_KEYS);
  });

  it('rates only while a rating is open; otherwise the key is swallowed and does nothing', () => {
    expect(wedgeAction(key('F2'), true)).toEqual({ kind: 'rate', level: 4 });
    expect(wedgeAction(key('F2'), false)).toEqual({ kind: 'swallow' });
    // A held (or stuck) key's auto-repeat is never a second press.
    expect(wedgeAction(key('F2', { repeat: true }), true)).toEqual({ kind: 'swallow' });
    // Other keys and chords are left alone (typing, Ctrl+F5 by IT).
    expect(wedgeAction(key('Tab'), true)).toEqual({ kind: 'ignore' });
    expect(wedgeAction(key('F5', { ctrlKey: true }), true)).toEqual({ kind: 'ignore' });
    expect(wedgeAction(key('F1'), true, {})).toEqual({ kind: 'ignore' });
  });
});
